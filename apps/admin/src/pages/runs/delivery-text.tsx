import { Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { CodeText } from './labels';

/** A delivery's result code in words (none for a code without text): the sentence, and what to do (dimmed) unless it succeeded. */
export function DeliveryCodeText({ text, status }: { text: CodeText | null; status: string | undefined }) {
  if (!text) return null;
  return (
    <Text size="sm" data-testid="delivery-code-text">
      {text.sentence} {status !== 'succeeded' && <Text span size="sm" c="dimmed">{text.hint}</Text>}
    </Text>
  );
}

/** A delivery's raw error, only as the technical detail under the words. */
export function TechnicalDetail({ error }: { error: string | null | undefined }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
      {t('run.technical', { error })}
    </Text>
  );
}
