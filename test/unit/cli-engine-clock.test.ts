import { describe, expect, it } from 'vitest';
import { clockSkew, describeClockSkew } from '../../cli/engine-clock';

const engineDate = 'Mon, 23 Nov 2026 12:00:00 GMT';
const at = (iso: string) => new Date(iso);

describe('clockSkew', () => {
  it.each([
    ['the same second', '2026-11-23T12:00:00.400Z'],
    ['5 s ahead, allowing for the header’s whole seconds', '2026-11-23T12:00:06.000Z'],
    ['5 s behind', '2026-11-23T11:59:55.000Z'],
  ])('finds none within %s', (_, host) => {
    expect(clockSkew(at(host), engineDate)).toBeUndefined();
  });

  it('finds a host clock just over 5 s ahead', () => {
    expect(clockSkew(at('2026-11-23T12:00:06.001Z'), engineDate)?.skewMs).toBe(5_501);
  });

  it('finds a host clock just over 5 s behind', () => {
    expect(clockSkew(at('2026-11-23T11:59:54.999Z'), engineDate)?.skewMs).toBe(-5_501);
  });

  it('ignores a Date header it cannot read', () => {
    expect(clockSkew(at('2030-01-01T00:00:00.000Z'), 'yesterday')).toBeUndefined();
  });

  it('says which way the clock is off and what that does to the run: the cutoff moves, the lease does not', () => {
    const skew = clockSkew(at('2026-11-23T12:02:00.500Z'), engineDate);

    expect(skew && describeClockSkew(skew)).toBe(
      "Warning: this host's clock (2026-11-23T12:02:00.500Z) is 2m 00s ahead of the engine's (Date header: " +
        "Mon, 23 Nov 2026 12:00:00 GMT): the run computes the cutoff from this host's clock, so it passivates " +
        "users early; its lease is judged and written on the engine's time, as every run's is when its host is " +
        'more than 2 s off; synchronise the clock (NTP)',
    );
  });

  it.each([
    [
      '13 minutes ahead, beyond the limit past which a lease on the host’s clock was taken over at once',
      '2026-11-23T12:13:00.500Z',
      'early',
    ],
    ['13 minutes behind', '2026-11-23T11:47:00.500Z', 'late'],
  ])('promises no lease that others wait for or take over when the host is %s', (_, host, when) => {
    const skew = clockSkew(at(host), engineDate);

    const line = skew && describeClockSkew(skew);

    expect(line).toContain(`passivates users ${when}; its lease is judged and written on the engine's time`);
    expect(line).not.toMatch(/wait for it|take the lock over|ends early|lies ahead/);
  });
});
