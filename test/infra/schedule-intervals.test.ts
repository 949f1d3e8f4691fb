import { Duration } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { missedRunsEvaluation } from '../../infra/constructs/job-monitoring';
import { ScheduleExpressionError, scheduleIntervals } from '../../infra/constructs/schedule-intervals';

const minutes = 60;
const hours = 3600;
const days = 86_400;

describe('schedule intervals', () => {
  it.each([
    ['rate(10 minutes)', 10 * minutes, 10 * minutes],
    ['rate(1 hour)', hours, hours],
    ['rate(2 days)', 2 * days, 2 * days],
    ['cron(0/10 * * * ? *)', 10 * minutes, 10 * minutes],
    ['cron(0 6 * * ? *)', days, days],
    ['cron(0 9,17 * * ? *)', 8 * hours, 16 * hours],
    // Every 5 minutes from 08:00 to 17:55 on weekdays: the weekend gap is Friday 17:55 to Monday 08:00.
    ['cron(0/5 8-17 ? * MON-FRI *)', 5 * minutes, 62 * hours + 5 * minutes],
    ['cron(30 2 ? * SUN *)', 7 * days, 7 * days],
    ['cron(0 12 ? * 2-6 *)', days, 3 * days],
    // 07:00 and 07:45, then 23 h 15 min to the next morning.
    ['cron(0,45 7 * * ? *)', 45 * minutes, 23 * hours + 15 * minutes],
    ['cron(15 10 ? * 6L *)', 28 * days, 35 * days],
    ['cron(0 6 ? * MON#1 *)', 28 * days, 35 * days],
    ['cron(0 6 L * ? *)', 28 * days, 31 * days],
    ['cron(0 6 15W * ? *)', 28 * days, 32 * days],
    // 29 February: every 4 years, but 2100 is no leap year.
    ['cron(0 0 29 2 ? *)', 1461 * days, 2921 * days],
  ])('finds the shortest and longest gap between runs of %s', (expression, shortest, longest) => {
    const intervals = scheduleIntervals(expression);

    expect(intervals).toMatchObject({ shortestSeconds: shortest, longestSeconds: longest });
  });

  it('reads the expressions CDK writes for Schedule.rate and Schedule.cron', () => {
    const rate = scheduleIntervals(Schedule.rate(Duration.minutes(15)).expressionString);
    const cron = scheduleIntervals(
      Schedule.cron({ minute: '0/20', hour: '8-17', weekDay: 'MON-FRI' }).expressionString,
    );

    expect(rate).toMatchObject({ kind: 'rate', shortestSeconds: 900, longestSeconds: 900 });
    expect(cron).toMatchObject({
      kind: 'cron',
      shortestSeconds: 20 * minutes,
      longestSeconds: 62 * hours + 20 * minutes,
    });
  });

  it('counts within the years a year field allows, without wrapping past the last one', () => {
    const intervals = scheduleIntervals('cron(0 6 1 JAN ? 2031-2033)');

    expect(intervals).toMatchObject({ shortestSeconds: 365 * days, longestSeconds: 366 * days });
  });

  it.each([
    ['cron(0 6 * * * *)', /exactly one of day-of-month and day-of-week must be \?/],
    ['cron(0 6 ? * ? *)', /exactly one of day-of-month and day-of-week must be \?/],
    ['cron(0 6 * *)', /needs 6 fields/],
    ['cron(61 6 * * ? *)', /minutes value 61 is outside 0-59/],
    ['cron(0 6 ? * FRI-MON *)', /range "FRI-MON" runs backwards/],
    ['cron(0 6 30 2 ? *)', /never fires/],
    ['cron(0 6 1 1 ? 2030)', /fires only once/],
    ['at(2030-01-01T00:00:00)', /only rate\(…\) and cron\(…\) expressions repeat/],
  ])('refuses %s, saying why', (expression, reason) => {
    const analyse = () => scheduleIntervals(expression);

    expect(analyse).toThrow(ScheduleExpressionError);
    expect(analyse).toThrow(reason);
  });
});

describe('missed-runs alarm sizing', () => {
  it('watches a fixed rate in periods of its interval, three of them', () => {
    const evaluation = missedRunsEvaluation(scheduleIntervals('rate(10 minutes)'));

    expect(evaluation?.period.toSeconds()).toBe(600);
    expect(evaluation?.evaluationPeriods).toBe(3);
  });

  it('watches a daily cron in day-long periods, so the day between two runs never alarms', () => {
    const evaluation = missedRunsEvaluation(scheduleIntervals('cron(0 6 * * ? *)'));

    expect(evaluation?.period.toSeconds()).toBe(days);
    expect(evaluation?.evaluationPeriods).toBe(3);
  });

  it('sizes a weekday cron from its weekend, within the 7 days CloudWatch evaluates', () => {
    const evaluation = missedRunsEvaluation(scheduleIntervals('cron(0/5 8-17 ? * MON-FRI *)'));

    expect(evaluation?.period.toSeconds()).toBe(days);
    expect(evaluation?.evaluationPeriods).toBe(5);
  });

  it('has no alarm for a weekly schedule: no 7-day evaluation can outwait a 7-day gap', () => {
    expect(missedRunsEvaluation(scheduleIntervals('cron(30 2 ? * SUN *)'))).toBeUndefined();
    expect(missedRunsEvaluation(scheduleIntervals('rate(6 days)'))?.evaluationPeriods).toBe(7);
  });
});
