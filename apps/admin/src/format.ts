/** Date and size formatting in the user's language; dates in a given IANA zone. */

// Building an Intl formatter costs far more than using one: a list of 500 rows reuses them.
const dateFormats = new Map<string, Intl.DateTimeFormat>();
const relativeFormats = new Map<string, Intl.RelativeTimeFormat>();

export function formatInZone(iso: string, timeZone: string, language: string): string {
  const key = `${language}|${timeZone}`;
  let format = dateFormats.get(key);
  if (!format) dateFormats.set(key, (format = new Intl.DateTimeFormat(language, { timeZone, dateStyle: 'medium', timeStyle: 'short' })));
  const text = format.format(new Date(iso));
  return `${text} (${timeZone})`;
}

export function relativeTime(iso: string, language: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  let rtf = relativeFormats.get(language);
  if (!rtf) relativeFormats.set(language, (rtf = new Intl.RelativeTimeFormat(language, { numeric: 'auto' })));
  for (const [unit, size] of units) if (Math.abs(seconds) >= size) return rtf.format(Math.round(seconds / size), unit);
  return rtf.format(seconds, 'second');
}

export function formatBytes(bytes: number, language: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return `${new Intl.NumberFormat(language, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(value)} ${units[i]}`;
}
