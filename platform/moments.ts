/**
 * RFC 3339 date-times (§5.6) as this API takes them, for query parameters, cursors and messages: a real
 * calendar date with a four-digit year from 0001 (PostgreSQL has no year 0), hours 00–23, minutes and
 * seconds 00–59, an optional fraction, and `Z` or a `±hh:mm` offset (`T` and `Z` in either case, as
 * the RFC allows). A leap second (`23:59:60`) is refused: JavaScript's Date cannot hold it, and a
 * moment that became an Invalid Date reached PostgreSQL as a 500.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The moment a date-time names, or undefined when it is not one this API takes. */
export function parseMoment(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (year < 1 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return undefined;
  const [sign, offsetHours, offsetMinutes] = [match[8], Number(match[9] ?? 0), Number(match[10] ?? 0)];
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  // Rewritten in the one form ECMAScript defines (YYYY-MM-DDTHH:mm:ss.sss±HH:mm), milliseconds kept.
  const millis = (match[7] ?? '.').slice(1, 4).padEnd(3, '0');
  const offset = sign === undefined ? 'Z' : `${sign}${match[9]}:${match[10]}`;
  const moment = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}.${millis}${offset}`);
  return Number.isNaN(moment.getTime()) ? undefined : moment;
}

/** Whether a date-time is one this API takes. */
export function isMoment(text: string): boolean {
  return parseMoment(text) !== undefined;
}
