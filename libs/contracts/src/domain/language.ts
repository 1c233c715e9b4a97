import { z } from 'zod';

/** The languages reports are written in; a configuration picks one. */
export const LANGUAGES = ['en', 'de'] as const;
export const languageSchema = z.enum(LANGUAGES);
export type Language = z.output<typeof languageSchema>;
export const DEFAULT_LANGUAGE: Language = 'en';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}
