import { describe, expect, it } from 'vitest';
import { hostAheadFrom, leaseTimeAt, narrowed } from '../../functions/periodic-worker/service-clock';

const engineDate = 'Mon, 23 Nov 2026 12:00:00 GMT';
const engineAt = Date.parse(engineDate);

describe('the service clock', () => {
  it('bounds host minus DynamoDB by the round trip and the header’s whole second', () => {
    const reading = hostAheadFrom(engineAt + 780_000, engineAt + 780_050, engineDate);

    expect(reading).toEqual({ minMs: 779_000, maxMs: 780_050 });
  });

  it('reads nothing from a missing or unreadable Date header', () => {
    expect(hostAheadFrom(0, 1, undefined)).toBeUndefined();
    expect(hostAheadFrom(0, 1, 'yesterday')).toBeUndefined();
  });

  it('narrows its bounds with each answer that agrees, and starts again from one that does not (a stepped clock)', () => {
    const first = { minMs: -1_000, maxMs: 0 };

    const agreeing = narrowed(first, { minMs: -500, maxMs: 500 });
    const stepped = narrowed(agreeing, { minMs: 779_000, maxMs: 780_000 });

    expect(agreeing).toEqual({ minMs: -500, maxMs: 0 });
    expect(stepped).toEqual({ minMs: 779_000, maxMs: 780_000 });
  });

  it.each([
    ['within 2 s ahead', { minMs: 1_500, maxMs: 2_500 }, 0],
    ['within 2 s behind', { minMs: -2_500, maxMs: -1_500 }, 0],
    ['13 minutes behind', { minMs: -780_500, maxMs: -779_500 }, 780_000],
    ['13 minutes ahead', { minMs: 779_500, maxMs: 780_500 }, -780_000],
  ])('leases at the host’s time shifted by %s', (_, hostAhead, shiftMs) => {
    const host = new Date(engineAt);

    const time = leaseTimeAt(host, hostAhead);

    expect(time.at.getTime() - host.getTime()).toBe(shiftMs);
    expect(time.correctedMs).toBe(shiftMs === 0 ? undefined : -shiftMs);
  });
});
