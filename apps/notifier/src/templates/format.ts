import { DateTime } from 'luxon';
import { DEFAULT_LANGUAGE, isLanguage, type Language } from '@pbx/contracts';

/** The report languages (the contracts' vocabulary). */
export type Lang = Language;

export function langOf(value: string | null | undefined): Lang {
  return isLanguage(value) ? value : DEFAULT_LANGUAGE;
}

/** A point in time in the configuration's time zone, e.g. "2030-01-02 03:00:00 UTC" / "02.01.2030 03:00:00 UTC". */
export function formatTime(at: Date, timezone: string, lang: Lang): string {
  let dt = DateTime.fromJSDate(at).setZone(timezone);
  if (!dt.isValid) dt = DateTime.fromJSDate(at).setZone('UTC');
  const pattern = lang === 'de' ? 'dd.MM.yyyy HH:mm:ss' : 'yyyy-MM-dd HH:mm:ss';
  return `${dt.toFormat(pattern)} ${dt.zoneName ?? 'UTC'}`;
}

export function formatBytes(bytes: number, lang: Lang): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toFixed(1);
  return `${lang === 'de' ? text.replace('.', ',') : text} ${units[unit]}`;
}

export function formatCount(n: number, lang: Lang): string {
  return n.toLocaleString(lang === 'de' ? 'de-DE' : 'en-US');
}
