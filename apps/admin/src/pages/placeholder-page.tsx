import { Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** A section whose page is not built yet (Runs, Restore, …): named, so navigation is testable. */
export function PlaceholderPage({ titleKey }: { titleKey: 'nav.runs' | 'nav.restore' | 'nav.archiving' | 'nav.deadLetters' | 'nav.audit' }) {
  const { t } = useTranslation();
  return (
    <>
      <Title order={1} size="h2" mb="md">
        {t(titleKey)}
      </Title>
      <Text>{t('common.comingSoon')}</Text>
    </>
  );
}
