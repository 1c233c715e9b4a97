import { Alert, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Configuration } from '../api/client';
import { deleteConfiguration, listKey } from '../configurations/kinds';

/** Deleting asks for the configuration's name to be typed (UI.md, dangerous actions). Esc closes. */
export function DeleteDialog({ configuration, onClose, onDeleted }: { configuration: Configuration; onClose(): void; onDeleted(name: string): void }) {
  const { t } = useTranslation();
  const queries = useQueryClient();
  const [typed, setTyped] = useState('');
  const remove = useMutation({
    mutationFn: () => deleteConfiguration(configuration.kind, configuration.id),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: listKey(configuration.kind) });
      onDeleted(configuration.name);
    },
  });
  return (
    <Modal opened onClose={onClose} title={t('backups.deleteTitle', { name: configuration.name })} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (typed === configuration.name) remove.mutate();
        }}
      >
        <Stack>
          <Text size="sm">{t('backups.deleteText')}</Text>
          <TextInput label={t('backups.deleteConfirm')} description={configuration.name} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-autofocus autoComplete="off" />
          {remove.error && (
            <Alert color="red" role="alert">
              {t('common.error', { message: remove.error.message })}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" color="red" disabled={typed !== configuration.name} loading={remove.isPending}>
              {t('backups.deleteButton')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
