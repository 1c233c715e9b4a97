import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { de } from './de';
import { en, type Strings } from './en';

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = 'pbx-admin-language';

const stored = localStorage.getItem(KEY);
const initial: Language = stored === 'de' || stored === 'en' ? stored : navigator.language.startsWith('de') ? 'de' : 'en';

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, de: { translation: de } },
  lng: initial,
  fallbackLng: 'en',
  // React escapes already.
  interpolation: { escapeValue: false },
});
document.documentElement.lang = initial;

export function setLanguage(lng: Language): void {
  localStorage.setItem(KEY, lng);
  document.documentElement.lang = lng;
  void i18n.changeLanguage(lng);
}

declare module 'i18next' {
  interface CustomTypeOptions {
    resources: { translation: Strings };
  }
}

export default i18n;
