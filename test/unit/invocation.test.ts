import { describe, expect, it } from 'vitest';
import scheduledEvent from '../../events/scheduled-event.json';
import { parseInvocation } from '../../functions/passive-user-checker/invocation';

describe('parseInvocation', () => {
  it('treats an EventBridge scheduled event as a normal scheduled run', () => {
    expect(parseInvocation(scheduledEvent)).toEqual({
      trigger: 'schedule',
      dryRun: false,
      overrideBreaker: false,
    });
  });

  it('never lets a scheduled event turn on a dry run or an override', () => {
    const event = { ...scheduledEvent, dryRun: true, overrideBreaker: true };

    expect(parseInvocation(event)).toMatchObject({
      trigger: 'schedule',
      dryRun: false,
      overrideBreaker: false,
    });
  });

  it('reads the manual flags', () => {
    expect(parseInvocation({ dryRun: true })).toEqual({
      trigger: 'manual',
      dryRun: true,
      overrideBreaker: false,
    });
    expect(parseInvocation({ overrideBreaker: true })).toMatchObject({ overrideBreaker: true });
    expect(parseInvocation({})).toEqual({ trigger: 'manual', dryRun: false, overrideBreaker: false });
    expect(parseInvocation(null)).toMatchObject({ trigger: 'manual', dryRun: false });
  });

  it('rejects unknown fields, non-boolean flags and non-objects', () => {
    expect(() => parseInvocation({ dry_run: true })).toThrow(/Unknown payload field "dry_run"/);
    expect(() => parseInvocation({ dryRun: 'true' })).toThrow(/"dryRun" must be true or false, got "true"/);
    expect(() => parseInvocation('run')).toThrow(/must be a JSON object/);
    expect(() => parseInvocation([])).toThrow(/must be a JSON object/);
  });

  it('refuses an approvedBy that is not one line, as pause refuses its --by: an approval cannot forge status lines', () => {
    const forged = 'ana@ops\n  approval        withdrawn by mallory at 2026-11-23T20:00:00.000Z';

    expect(() => parseInvocation({ overrideBreaker: true, approvedBy: forged })).toThrow(
      /^Payload field "approvedBy" must be one line \(no newlines or control characters\)$/,
    );
    expect(() => parseInvocation({ overrideBreaker: true, approvedBy: 'ana\u001b[2J' })).toThrow(/one line/);
    expect(() => parseInvocation({ overrideBreaker: true, approvedBy: ' ' })).toThrow(
      /^Payload field "approvedBy" must not be empty$/,
    );
    expect(() => parseInvocation({ overrideBreaker: true, approvedBy: 'a'.repeat(201) })).toThrow(
      /^Payload field "approvedBy" must be at most 200 characters, got 201$/,
    );
    expect(parseInvocation({ overrideBreaker: true, approvedBy: 'ana@ops' })).toMatchObject({
      approvedBy: 'ana@ops',
    });
  });
});
