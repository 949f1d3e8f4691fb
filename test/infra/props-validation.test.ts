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
      /timeout must be whole seconds from 1 to 284 with schedule rate\(10 minutes\).*got 300 s/,
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
