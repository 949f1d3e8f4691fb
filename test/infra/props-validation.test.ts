import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import {
  type PassiveUserCheckerProps,
  PassiveUserCheckerPropsError,
} from '../../infra/constructs/passive-user-checker';
import { synthStack } from './support';

type CheckerSettings = Omit<PassiveUserCheckerProps, 'usersTable' | 'lockTable'>;
const build = (checker: CheckerSettings) => () => synthStack({ checker });

describe('synth-time validation', () => {
  it('rejects an inactiveDays outside the range the function accepts', () => {
    expect(build({ inactiveDays: 0 })).toThrow(/inactiveDays must be an integer from 1 to 3650, got 0/);
  });

  it('rejects a fractional shard count', () => {
    expect(build({ activeShards: 1.5 })).toThrow(/activeShards must be an integer from 1 to 1000, got 1.5/);
  });

  it('throws a named error class listing every bad prop at once', () => {
    const attempt = build({ updateConcurrency: 0, breakerMaxStalePercent: 101, memorySize: 64 });

    expect(attempt).toThrow(PassiveUserCheckerPropsError);
    expect(attempt).toThrow(/updateConcurrency must be an integer from 1 to 256, got 0/);
    expect(attempt).toThrow(/breakerMaxStalePercent must be an integer from 1 to 100, got 101/);
    expect(attempt).toThrow(/memorySize must be an integer from 128 to 10240, got 64/);
  });

  it('rejects a timeout whose lease would still block the next tick', () => {
    expect(build({ timeout: Duration.minutes(5) })).toThrow(
      /timeout must be whole seconds from 40 to 284 with schedule rate\(10 minutes\).*got 300 s/,
    );
  });

  it.each([1, 30, 39])(
    'rejects a timeout of %i s, which leaves no room for work after the safety margin, naming both',
    (seconds) => {
      expect(build({ timeout: Duration.seconds(seconds) })).toThrow(
        new RegExp(
          `timeout \\(${seconds} s\\) must leave at least 10 s for work after the safety margin ` +
            '\\(SAFETY_MARGIN_MS, 30 s\\).*use at least 40 s',
        ),
      );
    },
  );

  it('accepts the shortest timeout that leaves the minimum work window after the safety margin', () => {
    const { template } = synthStack({ checker: { timeout: Duration.seconds(40) } });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 40,
      Environment: { Variables: Match.objectLike({ LEASE_SECONDS: '70' }) },
    });
  });

  it('rejects a schedule too short for any timeout that leaves room for work', () => {
    expect(build({ schedule: Schedule.rate(Duration.minutes(1)), timeout: Duration.seconds(14) })).toThrow(
      /schedule rate\(1 minute\) is too short for any timeout: .*at least 40 s.*a period of at least 111 s/,
    );
  });

  it('accepts a longer timeout on a longer schedule', () => {
    const { template } = synthStack({
      checker: { schedule: Schedule.rate(Duration.minutes(30)), timeout: Duration.minutes(10) },
    });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 600,
      Environment: { Variables: Match.objectLike({ LEASE_SECONDS: '630' }) },
    });
  });

  it('rejects a timeout in fractions of a second', () => {
    expect(build({ timeout: Duration.millis(1500) })).toThrow(/timeout must be whole seconds.*got 1.5 s/);
  });

  it.each([0, 721])('rejects a breakerWindowHours of %i, outside the range the function accepts', (hours) => {
    expect(build({ breakerWindowHours: hours })).toThrow(
      new RegExp(`breakerWindowHours must be an integer from 1 to 720, got ${hours}`),
    );
  });

  it.each([
    ['shorter than an hour', { incompleteRunsWindow: Duration.minutes(30) }, /got 30 minutes/],
    ['longer than 7 days', { incompleteRunsWindow: Duration.days(8) }, /got 8 days/],
    [
      'over 7 days once rounded up to whole 5-hour periods',
      { schedule: Schedule.rate(Duration.hours(5)), incompleteRunsWindow: Duration.days(7) },
      /got 7 days \(170 hours in whole periods of 5 hours\)/,
    ],
  ])('rejects an incompleteRunsWindow %s', (_case, props, got) => {
    const attempt = build(props);

    expect(attempt).toThrow(/incompleteRunsWindow must be from 1 hour to 7 days in whole alarm periods/);
    expect(attempt).toThrow(got);
  });

  it('rejects a cron schedule, since the lease and the heartbeat need a fixed period', () => {
    expect(build({ schedule: Schedule.cron({ minute: '0/10' }) })).toThrow(
      /schedule must be a rate expression from rate\(1 minute\) to rate\(1 day\)/,
    );
  });

  it('rejects warning users on or after the day they are passivated', () => {
    expect(build({ inactiveDays: 30, warningDays: 30 })).toThrow(
      /warningDays must be less than inactiveDays \(30\)/,
    );
  });

  it('rejects inactivity warnings when no events are published, naming the props', () => {
    expect(build({ warningDays: 7, publishEvents: false })).toThrow(/warningDays needs publishEvents/);
  });

  it('rejects a lock name the function could not use, naming the prop', () => {
    expect(build({ lockName: 'nightly run!' })).toThrow(/lockName must be 1-100 of/);
  });

  it('rejects reserving no concurrency at all', () => {
    expect(build({ reservedConcurrentExecutions: 0 })).toThrow(
      /reservedConcurrentExecutions must be an integer/,
    );
  });
});
