/**
 * The shortest and longest time between two consecutive runs of an EventBridge schedule expression, for the
 * lease invariant (shortest) and the missed-runs alarm (longest). EventBridge rules evaluate `cron(…)` in UTC, so
 * there is no daylight-saving shift to account for.
 *
 * A cron's fire times are the product of its fire days and its times of day (hours × minutes), so the gaps are
 * either between two times of one day or between the last time of a fire day and the first of the next one. The
 * times of day come from the minute and hour sets; the fire days are found by walking the calendar one day at a
 * time over a whole 400-year Gregorian cycle (146,097 days: every weekday/date/leap-year combination, so `L`, `W`
 * and `#` are exact) or over the years the year field allows.
 */

export interface ScheduleIntervals {
  /** The expression, as EventBridge receives it. */
  readonly expression: string;
  readonly kind: 'rate' | 'cron';
  /** The shortest time between two consecutive runs, in seconds. */
  readonly shortestSeconds: number;
  /** The longest time between two consecutive runs, in seconds. */
  readonly longestSeconds: number;
}

/** An expression the analyser cannot use, with the reason. */
export class ScheduleExpressionError extends Error {
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`schedule ${expression} cannot be used: ${reason}`);
    this.name = 'ScheduleExpressionError';
  }
}

const minute = 60;
const day = 86_400;
const rateUnitSeconds: Readonly<Record<string, number>> = {
  minute,
  minutes: minute,
  hour: 3600,
  hours: 3600,
  day,
  days: day,
};

/** Shortest and longest gap between runs of a `rate(…)` or `cron(…)` expression. */
export function scheduleIntervals(expression: string): ScheduleIntervals {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate !== null) {
    const amount = Number(rate[1]);
    const unit = rateUnitSeconds[rate[2] ?? ''];
    if (!Number.isSafeInteger(amount) || amount < 1 || unit === undefined) {
      throw new ScheduleExpressionError(
        expression,
        'a rate must be a positive whole number of minutes, hours or days',
      );
    }
    const seconds = amount * unit;
    return { expression, kind: 'rate', shortestSeconds: seconds, longestSeconds: seconds };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron !== null) return cronIntervals(expression, cron[1] ?? '');
  throw new ScheduleExpressionError(expression, 'only rate(…) and cron(…) expressions repeat');
}

interface FieldRange {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const fields = {
  minutes: { name: 'minutes', min: 0, max: 59 },
  hours: { name: 'hours', min: 0, max: 23 },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31 },
  month: {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // EventBridge numbers the week from Sunday: 1 = SUN … 7 = SAT.
  dayOfWeek: {
    name: 'day-of-week',
    min: 1,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
  },
  year: { name: 'year', min: 1970, max: 2199 },
} as const satisfies Record<string, FieldRange>;

/** The Gregorian calendar repeats every 400 years, weekdays included. */
const cycleStartYear = 2000;
const cycleYears = 400;

function cronIntervals(expression: string, body: string): ScheduleIntervals {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(
      expression,
      `a cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  const [minutesField, hoursField, domField, monthField, dowField, yearField] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const fail = (reason: string): never => {
    throw new ScheduleExpressionError(expression, reason);
  };
  const parse = (text: string, range: FieldRange) => {
    try {
      return parseValues(text, range);
    } catch (error) {
      return fail((error as Error).message);
    }
  };

  const minutes = parse(minutesField, fields.minutes);
  const hours = parse(hoursField, fields.hours);
  const months = new Set(parse(monthField, fields.month));
  const years = yearField === '*' ? undefined : new Set(parse(yearField, fields.year));
  if ((domField === '?') === (dowField === '?')) {
    fail('exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)');
  }
  let matchesDay: DayMatcher;
  try {
    matchesDay = domField === '?' ? dayOfWeekMatcher(dowField) : dayOfMonthMatcher(domField);
  } catch (error) {
    return fail((error as Error).message);
  }

  const timesOfDay = hours.flatMap((hour) => minutes.map((m) => hour * 60 + m)).sort((a, b) => a - b);
  const fireDays = walkCalendar(years, months, matchesDay);
  if (fireDays.days.length === 0) fail('it never fires');
  const first = timesOfDay[0] ?? 0;
  const last = timesOfDay[timesOfDay.length - 1] ?? 0;

  const gapsMinutes: number[] = [];
  for (let i = 1; i < timesOfDay.length; i += 1) {
    gapsMinutes.push((timesOfDay[i] ?? 0) - (timesOfDay[i - 1] ?? 0));
  }
  const dayGaps = new Set<number>();
  for (let i = 1; i < fireDays.days.length; i += 1) {
    dayGaps.add((fireDays.days[i] ?? 0) - (fireDays.days[i - 1] ?? 0));
  }
  if (fireDays.cycleDays !== undefined) {
    // Any year: the cycle repeats, so the last fire day of one cycle is followed by the first of the next.
    dayGaps.add(
      (fireDays.days[0] ?? 0) + fireDays.cycleDays - (fireDays.days[fireDays.days.length - 1] ?? 0),
    );
  }
  for (const gap of dayGaps) gapsMinutes.push(gap * 1440 - (last - first));
  if (gapsMinutes.length === 0) fail('it fires only once');

  return {
    expression,
    kind: 'cron',
    shortestSeconds: Math.min(...gapsMinutes) * minute,
    longestSeconds: Math.max(...gapsMinutes) * minute,
  };
}

/** The values a plain field allows: `*`, numbers or names, `a-b` ranges, `/` steps and `,` lists. */
function parseValues(text: string, range: FieldRange): number[] {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [span = '', stepText, ...extra] = item.split('/');
    if (extra.length > 0) throw new Error(`${range.name} item "${item}" has more than one /`);
    const step = stepText === undefined ? 1 : parseNumber(stepText, `${range.name} step`);
    if (step < 1) throw new Error(`${range.name} step must be at least 1, got "${item}"`);
    let from: number;
    let to: number;
    if (span === '*') {
      from = range.min;
      to = range.max;
    } else if (span.includes('-')) {
      const [a = '', b = ''] = span.split('-');
      from = parseValue(a, range);
      to = parseValue(b, range);
      // Read conservatively: a range must run forwards (no wrap-around such as FRI-MON).
      if (from > to) throw new Error(`${range.name} range "${span}" runs backwards; write it as a list`);
    } else {
      from = parseValue(span, range);
      // "a/step" runs from a to the end of the field.
      to = stepText === undefined ? from : range.max;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function parseValue(text: string, range: FieldRange): number {
  const index = range.names?.indexOf(text.toUpperCase()) ?? -1;
  const value = index >= 0 ? range.min + index : parseNumber(text, range.name);
  if (value < range.min || value > range.max) {
    throw new Error(`${range.name} value ${text} is outside ${range.min}-${range.max}`);
  }
  return value;
}

function parseNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${what} "${text}" is not a number`);
  return Number(text);
}

interface CalendarDay {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  /** 1-31 */
  readonly dayOfMonth: number;
  /** 1 = Sunday … 7 = Saturday, as EventBridge counts. */
  readonly dayOfWeek: number;
  readonly daysInMonth: number;
}

type DayMatcher = (day: CalendarDay) => boolean;

/** Day-of-month: plain values, `*`, `L` (last day), `L-n` (n days before it), `nW` and `LW` (nearest weekday). */
function dayOfMonthMatcher(text: string): DayMatcher {
  if (text === '*') return () => true;
  const matchers = text.split(',').map((item): DayMatcher => {
    const upper = item.toUpperCase();
    if (upper === 'L') return (d) => d.dayOfMonth === d.daysInMonth;
    if (upper === 'LW') return (d) => d.dayOfMonth === nearestWeekday(d, d.daysInMonth);
    const beforeLast = /^L-(\d+)$/.exec(upper);
    if (beforeLast !== null) {
      const offset = Number(beforeLast[1]);
      if (offset > 30) throw new Error(`day-of-month "${item}" reaches before the first of the month`);
      return (d) => d.dayOfMonth === Math.max(1, d.daysInMonth - offset);
    }
    const weekday = /^(\d+)W$/.exec(upper);
    if (weekday !== null) {
      const target = parseValue(weekday[1] ?? '', fields.dayOfMonth);
      return (d) => d.dayOfMonth === nearestWeekday(d, Math.min(target, d.daysInMonth));
    }
    const days = new Set(parseValues(item, fields.dayOfMonth));
    return (d) => days.has(d.dayOfMonth);
  });
  return (d) => matchers.some((matches) => matches(d));
}

/** Day-of-week: plain values or names, `L` (Saturday), `nL` (the month's last such weekday), `n#k` (its k-th). */
function dayOfWeekMatcher(text: string): DayMatcher {
  if (text === '*') return () => true;
  const matchers = text.split(',').map((item): DayMatcher => {
    const upper = item.toUpperCase();
    if (upper === 'L') return (d) => d.dayOfWeek === fields.dayOfWeek.max;
    const last = /^(\w+?)L$/.exec(upper);
    if (last !== null) {
      const weekday = parseValue(last[1] ?? '', fields.dayOfWeek);
      return (d) => d.dayOfWeek === weekday && d.dayOfMonth + 7 > d.daysInMonth;
    }
    const nth = /^(\w+)#(\d)$/.exec(upper);
    if (nth !== null) {
      const weekday = parseValue(nth[1] ?? '', fields.dayOfWeek);
      const k = Number(nth[2]);
      if (k < 1 || k > 5) throw new Error(`day-of-week "${item}": the week of the month must be 1-5`);
      return (d) => d.dayOfWeek === weekday && Math.ceil(d.dayOfMonth / 7) === k;
    }
    const weekdays = new Set(parseValues(item, fields.dayOfWeek));
    return (d) => weekdays.has(d.dayOfWeek);
  });
  return (d) => matchers.some((matches) => matches(d));
}

/** The weekday nearest to `target` in d's month, never crossing into another month (Quartz's `W`). */
function nearestWeekday(d: CalendarDay, target: number): number {
  const dayOfWeek = (((d.dayOfWeek - 1 + target - d.dayOfMonth) % 7) + 7) % 7; // 0 = Sunday
  if (dayOfWeek === 6) return target === 1 ? target + 2 : target - 1;
  if (dayOfWeek === 0) return target === d.daysInMonth ? target - 2 : target + 1;
  return target;
}

/** The fire days as day numbers, and the cycle length when they repeat (any year). */
function walkCalendar(
  years: ReadonlySet<number> | undefined,
  months: ReadonlySet<number>,
  matchesDay: DayMatcher,
): { days: number[]; cycleDays: number | undefined } {
  const firstYear = years === undefined ? cycleStartYear : Math.min(...years);
  const lastYear = years === undefined ? cycleStartYear + cycleYears - 1 : Math.max(...years);
  const days: number[] = [];
  // 2000-01-01 was a Saturday; count weekdays from there (the first year walked is never before 1970).
  let dayNumber = Math.round((Date.UTC(firstYear, 0, 1) - Date.UTC(cycleStartYear, 0, 1)) / (day * 1000));
  let dayOfWeek = ((((dayNumber % 7) + 7) % 7) + 6) % 7; // 0 = Sunday
  for (let year = firstYear; year <= lastYear; year += 1) {
    for (let month = 1; month <= 12; month += 1) {
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      const wanted = (years === undefined || years.has(year)) && months.has(month);
      for (let dayOfMonth = 1; dayOfMonth <= daysInMonth; dayOfMonth += 1) {
        if (wanted && matchesDay({ year, month, dayOfMonth, dayOfWeek: dayOfWeek + 1, daysInMonth })) {
          days.push(dayNumber);
        }
        dayNumber += 1;
        dayOfWeek = (dayOfWeek + 1) % 7;
      }
    }
  }
  // Walking any year starts at day 0, so the day number reached is the cycle's length.
  return { days, cycleDays: years === undefined ? dayNumber : undefined };
}
