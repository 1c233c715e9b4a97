import { SegmentedControl } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n/i18n';

/** EN / DE, remembered in this browser. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <SegmentedControl
      aria-label={t('top.language')}
      size="xs"
      value={i18n.language === 'de' ? 'de' : 'en'}
      onChange={(v) => setLanguage(v as Language)}
      data={[
        { value: 'en', label: <span lang="en" aria-label="English">EN</span> },
        { value: 'de', label: <span lang="de" aria-label="Deutsch">DE</span> },
      ]}
    />
  );
}
