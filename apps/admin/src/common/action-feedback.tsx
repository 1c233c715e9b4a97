import { Alert } from '@mantine/core';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * What a page says after an action: the success message (announced politely, closable) and the
 * failed action's error (announced at once). One place, so every page words and announces them alike.
 */
export function ActionFeedback({ message, onClose, error }: { message: ReactNode; onClose: () => void; error?: Error | null }) {
  const { t } = useTranslation();
  return (
    <>
      <div role="status" aria-live="polite">
        {message && (
          <Alert color="green" withCloseButton onClose={onClose} closeButtonLabel={t('common.close')}>
            {message}
          </Alert>
        )}
      </div>
      {error && (
        <Alert color="red" role="alert">
          {t('common.error', { message: error.message })}
        </Alert>
      )}
    </>
  );
}
