import { Alert, Button, Group, Modal, Stack } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, type Configuration } from '../api/client';
import { useSession } from '../auth/session';
import { DestinationStep } from '../wizard/destination-step';
import { emptyForm, toDestination, validateStep, type WizardForm } from '../wizard/wizard-state';
import { addDestination, listKey } from './kinds';

/** The api names a field of the added destination plainly (`host`); the wizard's form says `destinations[0].host`. */
export function asStepField(field: string): string {
  return field.startsWith('destinations[0]') ? field : `destinations[0].${field}`;
}

/**
 * Add a destination later: the wizard's step 3 (the same component, so the same six forms,
 * Test connection and the SFTP host key to confirm) in a dialog; POST …/{id}/destinations.
 */
export function AddDestinationDialog({ configuration, onClose, onAdded }: { configuration: Configuration; onClose(): void; onAdded(): void }) {
  const { t } = useTranslation();
  const session = useSession();
  const queries = useQueryClient();
  const [form, setForm] = useState<WizardForm>(() => emptyForm(session.me?.timezone ?? configuration.timezone));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const update = (patch: Partial<WizardForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    const touched = Object.keys(patch).flatMap((k) => (k === 'fields' ? Object.keys(patch.fields ?? {}).map(asStepField) : k === 'confirmedFingerprint' ? ['destinations[0].hostKeyFingerprint'] : k === 'type' ? ['destinations[0].type'] : []));
    setErrors((e) => (touched.some((k) => k in e) ? Object.fromEntries(Object.entries(e).filter(([k]) => !touched.includes(k))) : e));
  };
  const add = useMutation({
    mutationFn: () => addDestination(configuration.kind, configuration.id, toDestination(form)),
    onSuccess: async () => {
      await Promise.all([queries.invalidateQueries({ queryKey: ['configuration', configuration.kind, configuration.id] }), queries.invalidateQueries({ queryKey: listKey(configuration.kind) })]);
      onAdded();
    },
    onError: (e) => {
      if (!(e instanceof ApiError)) return;
      const fields = Object.fromEntries(Object.entries(e.fieldErrors).filter(([k]) => k !== 'body').map(([k, v]) => [asStepField(k), v]));
      const presented = (e.problem as Record<string, unknown>).hostKeyFingerprint;
      if (typeof presented === 'string') {
        update({ presentedFingerprint: presented, confirmedFingerprint: null });
        fields['destinations[0].hostKeyFingerprint'] = t('wizard.fingerprintRequired');
      }
      setErrors(fields);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const problems = validateStep(2, form, false);
    const messages = Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, t(`wizard.${v}`)]));
    setErrors(messages);
    if (Object.keys(messages).length) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[role="dialog"] [aria-invalid="true"]')?.focus());
      return;
    }
    add.mutate();
  }

  const general = add.error && !Object.keys(errors).length ? add.error.message : null;
  return (
    <Modal opened onClose={onClose} size="xl" title={t('configurations.addTitle', { name: configuration.name })} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={submit} noValidate>
        <Stack>
          <DestinationStep form={form} editing={false} errors={errors} update={update} legend={t('configurations.addLegend')} note={t('configurations.addNote')} />
          {general && (
            <Alert color="red" role="alert">
              {t('common.error', { message: general })}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={add.isPending}>
              {t('configurations.addButton')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
