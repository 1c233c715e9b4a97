import { Alert, Button, Checkbox, Group, List, Modal, Paper, PasswordInput, Radio, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconEye, IconLock, IconRestore } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { api, ApiError, unwrap } from '../../api/client';
import { useSession } from '../../auth/session';
import { BackLink } from '../../common/back-link';
import { restoreErrorOf } from './restore-error';
import { FINAL_STATUSES, initialForm, MODES, problemsOf, SECTIONS, toRestoreRequest, type RestoreForm } from './restore-form';
import { PreviewView, RestoreErrorAlert, RestoreProgressView, useRestore, type PreviewResult } from './restore-parts';
import { RestoreSource } from './restore-source';

/**
 * A new restore: the archive, what and how, the key of an encrypted archive (kept in this
 * component's state only), then Preview (a dry run) → a confirmation that says what will be
 * replaced → the restore's own page with its progress and result.
 */
export function NewRestorePage() {
  const { t } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [params] = useSearchParams();
  const [form, setForm] = useState<RestoreForm>(() => initialForm(params));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [previewId, setPreviewId] = useState<string | null>(null);
  /** The form as it was previewed: a change asks for a new preview before restoring. */
  const [previewedFor, setPreviewedFor] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const preview = useRestore(previewId);
  const current = JSON.stringify(toRestoreRequest(form, true));

  const update = useCallback((patch: Partial<RestoreForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    setErrors({});
  }, []);

  const apiErrors = (e: unknown) => {
    if (!(e instanceof ApiError)) return;
    const fields = e.fieldErrors;
    const mapped: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) mapped[k.startsWith('source') ? 'source' : k === 'passphrase' || k === 'identity' ? 'key' : k.startsWith('sections') ? 'sections' : k] = v;
    if (!Object.keys(mapped).length) mapped.form = e.message;
    setErrors(mapped);
  };

  const startPreview = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/restores', { body: toRestoreRequest(form, true) })).restore,
    onSuccess: (r) => {
      setPreviewId(r.id);
      setPreviewedFor(current);
    },
    onError: apiErrors,
  });

  const start = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/restores', { body: toRestoreRequest(form, false) })).restore,
    onSuccess: async (r) => {
      await queries.invalidateQueries({ queryKey: ['restores'] });
      navigate(`/restore/${r.id}`);
    },
    onError: (e) => {
      setConfirming(false);
      apiErrors(e);
    },
  });

  function onPreview(e?: FormEvent) {
    e?.preventDefault();
    const problems = problemsOf(form);
    const messages = Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, t(`restore.problems.${v}`)]));
    setErrors(messages);
    if (Object.keys(messages).length) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    setPreviewId(null);
    startPreview.mutate();
  }

  const p = preview.data;
  const done = p && FINAL_STATUSES.includes(p.status);
  const failed = done && p.status !== 'succeeded' ? restoreErrorOf(p.error ?? '') : null;
  const result: PreviewResult | null = done && p.status === 'succeeded' ? (p.previewResult ?? null) : null;
  const stale = Boolean(result && previewedFor !== current);
  // A failed preview's reason goes beside the field it concerns while the choices are the same.
  const fieldError = (field: 'key' | 'allowOtherPbx') => {
    if (errors[field]) return errors[field];
    if (!failed || previewedFor !== current) return undefined;
    if (field === 'key' && failed.kind === 'decryptFailed') return t('restore.errors.decryptFailed');
    if (field === 'allowOtherPbx' && failed.kind === 'otherPbx') return t('restore.errors.otherPbx');
    return undefined;
  };

  return (
    <Stack maw={1000}>
      <BackLink to="/restore">{t('restore.back')}</BackLink>
      <Title order={1} size="h2">
        {t('restore.newTitle')}
      </Title>
      <Paper withBorder p="lg" component="form" onSubmit={onPreview} noValidate aria-label={t('restore.newTitle')}>
        <Stack>
          <RestoreSource form={form} zone={zone} error={errors.source} update={update} />
          <Checkbox.Group
            label={t('restore.whatLegend')}
            description={t('restore.sectionsHint')}
            value={form.mode === 'merge' ? ['cdrAndVoicemails'] : form.sections}
            onChange={(v) => update({ sections: SECTIONS.filter((s) => v.includes(s)) })}
            error={errors.sections}
          >
            <Group mt="xs">
              {SECTIONS.map((s) => (
                <Checkbox key={s} value={s} label={t(`restore.sections.${s}`)} disabled={form.mode === 'merge'} />
              ))}
            </Group>
          </Checkbox.Group>
          <Radio.Group label={t('restore.modeLegend')} value={form.mode} onChange={(v) => update({ mode: v as RestoreForm['mode'] })} error={errors.mode}>
            <Stack mt="xs" gap="xs">
              {MODES.map((m) => (
                <Radio key={m} value={m} label={t(`restore.modes.${m}`)} description={t(`restore.modeHints.${m}`)} />
              ))}
            </Stack>
          </Radio.Group>
          <Checkbox
            label={t('restore.allowOtherPbx')}
            description={t('restore.allowOtherPbxHint')}
            checked={form.allowOtherPbx}
            onChange={(e) => update({ allowOtherPbx: e.currentTarget.checked })}
            error={fieldError('allowOtherPbx')}
          />
          {form.encrypted && (
            <Paper withBorder p="md" bg="gray.0" data-testid="restore-key">
              <Stack gap="xs">
                <Group gap={6}>
                  <IconLock size={16} aria-hidden />
                  <Text fw={600}>{t('restore.keyLegend')}</Text>
                </Group>
                <Text size="sm">{t('restore.encryptedNote')}</Text>
                <Radio.Group value={form.keyKind} onChange={(v) => update({ keyKind: v as RestoreForm['keyKind'] })} aria-label={t('restore.keyLegend')}>
                  <Group>
                    <Radio value="passphrase" label={t('restore.keyKinds.passphrase')} />
                    <Radio value="identity" label={t('restore.keyKinds.identity')} />
                  </Group>
                </Radio.Group>
                {/* Write-only inputs: the key is sent with the request and kept nowhere else. */}
                {form.keyKind === 'passphrase' ? (
                  <PasswordInput label={t('restore.passphrase')} description={t('restore.keyNotStored')} required autoComplete="off" value={form.passphrase} onChange={(e) => update({ passphrase: e.currentTarget.value })} error={fieldError('key')} />
                ) : (
                  <PasswordInput label={t('restore.identity')} description={`${t('restore.identityHint')} ${t('restore.keyNotStored')}`} required autoComplete="off" value={form.identity} onChange={(e) => update({ identity: e.currentTarget.value })} error={fieldError('key')} />
                )}
              </Stack>
            </Paper>
          )}
          {errors.form && (
            <Alert color="red" role="alert">
              {t('common.error', { message: errors.form })}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button type="submit" variant={result && !stale ? 'default' : 'filled'} leftSection={<IconEye size={16} aria-hidden />} loading={startPreview.isPending || Boolean(p && !done)}>
              {t('restore.preview')}
            </Button>
          </Group>
        </Stack>
      </Paper>

      {p && !done && (
        <Paper withBorder p="md" role="status">
          <RestoreProgressView restore={p} />
        </Paper>
      )}
      {failed && p?.error && <RestoreErrorAlert error={p.error} />}
      {result && (
        <Paper withBorder p="lg">
          <Stack>
            <Title order={2} size="h3">
              {t('restore.previewTitle')}
            </Title>
            <PreviewView preview={result} zone={zone} />
            {stale ? (
              <Alert color="yellow" role="status">
                {t('restore.previewStale')}
              </Alert>
            ) : (
              <Group justify="flex-end">
                <Button color={form.mode === 'replace' ? 'red' : undefined} leftSection={<IconRestore size={16} aria-hidden />} onClick={() => setConfirming(true)}>
                  {t('restore.start')}
                </Button>
              </Group>
            )}
          </Stack>
        </Paper>
      )}
      {confirming && result && <ConfirmDialog form={form} preview={result} pending={start.isPending} onClose={() => setConfirming(false)} onConfirm={() => start.mutate()} />}
    </Stack>
  );
}

/** Says what will be replaced (from the preview); replace asks for the configuration's name to be typed (UI.md). */
function ConfirmDialog({ form, preview, pending, onClose, onConfirm }: { form: RestoreForm; preview: PreviewResult; pending: boolean; onClose(): void; onConfirm(): void }) {
  const { t } = useTranslation();
  const [typed, setTyped] = useState('');
  const name = preview.archive.configurationName;
  const replace = form.mode === 'replace';
  const sum = (s: PreviewResult['sections'][number], k: 'rowsAdded' | 'rowsRemoved' | 'rowsChanged') => s.tables.reduce((n, x) => n + x[k], 0);
  const ok = !replace || typed === name;
  return (
    <Modal opened onClose={onClose} title={t('restore.confirmTitle')} closeButtonProps={{ 'aria-label': t('common.close') }} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ok) onConfirm();
        }}
      >
        <Stack data-testid="restore-confirm">
          {replace ? (
            <>
              <Text size="sm">{t('restore.confirmReplace')}</Text>
              <List size="sm" spacing={4}>
                {preview.sections.map((s) => (
                  <List.Item key={s.section}>
                    {t('restore.confirmReplaceLine', { section: t(`restore.sections.${s.section}`), added: sum(s, 'rowsAdded'), removed: sum(s, 'rowsRemoved'), changed: sum(s, 'rowsChanged') })}
                    {s.audio && `; ${t('restore.confirmAudioLine', { removed: s.audio.filesRemoved, replaced: s.audio.filesReplaced, added: s.audio.filesAdded })}`}
                  </List.Item>
                ))}
              </List>
              <Text size="sm">{t('restore.confirmSafety')}</Text>
              <TextInput label={t('restore.confirmType')} description={name} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-autofocus autoComplete="off" />
            </>
          ) : (
            <Text size="sm">{t('restore.confirmMerge', { added: preview.sections.reduce((n, s) => n + sum(s, 'rowsAdded'), 0) })}</Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" color={replace ? 'red' : undefined} disabled={!ok} loading={pending} data-autofocus={replace ? undefined : true}>
              {t('restore.confirmButton')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
