import { Alert, Button, Checkbox, Group, NumberInput, Paper, Radio, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, ApiError, unwrap, type Configuration, type Interval, type Schemas } from '../api/client';
import { useSession } from '../auth/session';
import { QueryState } from '../common/query-state';
import { asStepField } from '../configurations/add-destination-dialog';
import { getConfiguration, listKey } from '../configurations/kinds';
import { DestinationStep } from '../wizard/destination-step';
import { ACTIONS, emptyForm, INTERVALS, splitStart, toDestination, validateStep, type WizardForm } from '../wizard/wizard-state';

type Item = 'cdr' | 'voicemails';
const ITEMS: readonly Item[] = ['cdr', 'voicemails'];
type Items = Record<Item, { enabled: boolean; daysToKeep: number | '' }>;
const ZONES: string[] = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Archiving configuration: create (with its first destination) or edit (/archiving/:id/edit). */
export default function ArchiveFormPage() {
  const { id } = useParams();
  const existing = useQuery({ queryKey: ['configuration', 'archive', id], enabled: Boolean(id), queryFn: () => getConfiguration('archive', id ?? '') });
  if (!id) return <ArchiveForm />;
  return <QueryState query={existing}>{(c) => <ArchiveForm key={c.id} existing={c} />}</QueryState>;
}

function itemsOf(c?: Configuration): Items {
  const stored = c?.items as Partial<Record<Item, { enabled?: boolean; daysToKeep?: number }>> | undefined;
  return {
    cdr: { enabled: stored ? Boolean(stored.cdr?.enabled) : true, daysToKeep: stored?.cdr?.daysToKeep ?? 365 },
    voicemails: { enabled: Boolean(stored?.voicemails?.enabled), daysToKeep: stored?.voicemails?.daysToKeep ?? 90 },
  };
}

function ArchiveForm({ existing }: { existing?: Configuration }) {
  const { t } = useTranslation();
  const session = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [params] = useSearchParams();
  const editing = Boolean(existing);
  const [form, setForm] = useState<WizardForm>(() => {
    const base = emptyForm(existing?.timezone ?? session.me?.timezone ?? 'UTC', (INTERVALS as readonly string[]).includes(params.get('interval') ?? '') ? (params.get('interval') as Interval) : 'manual');
    // Archiving deletes what it archived on the PBX: nothing runs unless asked for.
    if (!existing) return { ...base, action: 'save' };
    const start = splitStart(existing.startAt, existing.timezone);
    return { ...base, name: existing.name, reportTo: existing.reportTo, interval: existing.interval, ...(start ? { startDate: start.date, startTime: start.time } : {}) };
  });
  const [items, setItems] = useState<Items>(() => itemsOf(existing));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const top = useRef<HTMLHeadingElement>(null);
  const update = (patch: Partial<WizardForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    const touched = Object.keys(patch).flatMap((k) => (k === 'fields' ? Object.keys(patch.fields ?? {}).map(asStepField) : k === 'confirmedFingerprint' ? ['destinations[0].hostKeyFingerprint'] : k === 'type' ? ['destinations[0].type'] : k === 'startDate' || k === 'startTime' ? [k, 'startAt'] : [k]));
    setErrors((e) => (touched.some((k) => k in e) ? Object.fromEntries(Object.entries(e).filter(([k]) => !touched.includes(k))) : e));
  };
  const setItem = (k: Item, patch: Partial<Items[Item]>) => {
    setItems((i) => ({ ...i, [k]: { ...i[k], ...patch } }));
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([f]) => !f.startsWith('items'))));
  };

  const body = () => {
    const shared = {
      name: form.name.trim(),
      reportTo: form.reportTo.trim(),
      interval: form.interval,
      ...(form.interval !== 'manual' ? { startAt: `${form.startDate}T${form.startTime}:00` } : {}),
      timezone: form.timezone,
      items: Object.fromEntries(ITEMS.map((k) => [k, { enabled: items[k].enabled, daysToKeep: Number(items[k].daysToKeep || 0) }])) as Record<Item, { enabled: boolean; daysToKeep: number }>,
    };
    return shared;
  };

  const save = useMutation({
    mutationFn: async (): Promise<{ configurationId?: string; runId?: string }> => {
      if (existing) {
        const patch: Schemas['PatchArchiveConfigurationRequest'] = body();
        unwrap(await api.PATCH('/api/v1/archive-configurations/{id}', { params: { path: { id: existing.id } }, body: patch }));
        return { configurationId: existing.id };
      }
      const create: Schemas['CreateArchiveConfigurationRequest'] = { ...body(), destinations: [toDestination(form)], action: form.action };
      const res = unwrap(await api.POST('/api/v1/archive-configurations', { body: create }));
      return { configurationId: 'configuration' in res ? res.configuration?.id : undefined, runId: res.run?.id };
    },
    onSuccess: async ({ configurationId, runId }) => {
      await Promise.all([queries.invalidateQueries({ queryKey: listKey('archive') }), queries.invalidateQueries({ queryKey: ['configuration', 'archive'] })]);
      if (runId) navigate(`/runs/${runId}`);
      else navigate(configurationId ? `/archiving/${configurationId}` : '/archiving');
    },
    onError: (e) => {
      if (!(e instanceof ApiError)) return;
      const fields = { ...e.fieldErrors };
      const presented = (e.problem as Record<string, unknown>).hostKeyFingerprint;
      if (typeof presented === 'string') {
        update({ presentedFingerprint: presented, confirmedFingerprint: null });
        fields['destinations[0].hostKeyFingerprint'] = t('wizard.fingerprintRequired');
      }
      if (e.status === 409 && !Object.keys(fields).length) fields.name = e.message;
      setErrors(fields);
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const problems: Record<string, string> = {};
    const need = (k: string, v: string) => !v.trim() && (problems[k] = t('wizard.required'));
    need('name', form.name);
    need('reportTo', form.reportTo);
    if (!problems.reportTo && !EMAIL.test(form.reportTo.trim())) problems.reportTo = t('wizard.invalidEmail');
    if (form.interval !== 'manual') {
      need('startDate', form.startDate);
      need('startTime', form.startTime);
    }
    if (!items.cdr.enabled && !items.voicemails.enabled) problems.items = t('wizard.atLeastOne');
    for (const k of ITEMS) if (items[k].enabled && items[k].daysToKeep === '') problems[`items.${k}.daysToKeep`] = t('wizard.required');
    if (!editing) for (const [k, v] of Object.entries(validateStep(2, form, false))) problems[k] = t(`wizard.${v}`);
    setErrors(problems);
    if (Object.keys(problems).length) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    save.mutate();
  }

  const err = (k: string) => errors[k];
  const itemsError = err('items') ?? err('items.cdr') ?? err('items.voicemails');
  const unplaced = save.error && !Object.keys(errors).length ? save.error.message : null;
  return (
    <Stack maw={900}>
      <Title order={1} size="h2" ref={top} tabIndex={-1}>
        {editing ? t('archiving.titleEdit', { name: existing?.name }) : t('archiving.titleNew')}
      </Title>
      <Text size="sm">{t('archiving.intro')}</Text>
      <Paper withBorder p="lg" component="form" onSubmit={submit} noValidate aria-label={editing ? t('archiving.titleEdit', { name: existing?.name }) : t('archiving.titleNew')}>
        <Stack>
          <Title order={2} size="h4">
            {t('wizard.steps.general')}
          </Title>
          <TextInput label={t('wizard.name')} description={t('wizard.nameHint')} required value={form.name} onChange={(e) => update({ name: e.currentTarget.value })} error={err('name')} autoComplete="off" />
          <TextInput label={t('wizard.reportTo')} description={t('wizard.reportToHint')} required type="email" value={form.reportTo} onChange={(e) => update({ reportTo: e.currentTarget.value })} error={err('reportTo')} />
          <Select label={t('archiving.interval')} required value={form.interval} onChange={(v) => v && update({ interval: v as Interval })} data={INTERVALS.map((i) => ({ value: i, label: t(`interval.${i}`) }))} allowDeselect={false} error={err('interval')} />
          <Group grow align="flex-start">
            <TextInput label={t('wizard.start')} type="date" required={form.interval !== 'manual'} disabled={form.interval === 'manual'} value={form.startDate} onChange={(e) => update({ startDate: e.currentTarget.value })} error={err('startDate') ?? err('startAt')} />
            <TextInput label={t('wizard.time')} type="time" required={form.interval !== 'manual'} disabled={form.interval === 'manual'} value={form.startTime} onChange={(e) => update({ startTime: e.currentTarget.value })} error={err('startTime')} />
            <Select label={t('top.timezone')} searchable value={form.timezone} onChange={(v) => v && update({ timezone: v })} data={ZONES.includes(form.timezone) ? ZONES : [form.timezone, ...ZONES]} allowDeselect={false} error={err('timezone')} limit={50} />
          </Group>
          <Alert color="blue" variant="light">
            {t('wizard.archivingNote')}
          </Alert>

          <Title order={2} size="h4" mt="sm">
            {t('archiving.itemsLegend')}
          </Title>
          <Text size="sm">{t('archiving.itemsHint')}</Text>
          <Stack gap="sm" role="group" aria-label={t('archiving.itemsLegend')}>
            {ITEMS.map((k) => (
              <Group key={k} align="flex-end" gap="lg" wrap="wrap">
                <Checkbox label={t(`archiving.items.${k}`)} description={t(`archiving.itemHints.${k}`)} checked={items[k].enabled} onChange={(e) => setItem(k, { enabled: e.currentTarget.checked })} w={320} />
                <NumberInput
                  label={t('archiving.daysToKeep', { item: t(`archiving.items.${k}`) })}
                  description={t('archiving.daysToKeepHint')}
                  min={0}
                  max={36500}
                  allowDecimal={false}
                  allowNegative={false}
                  disabled={!items[k].enabled}
                  value={items[k].daysToKeep}
                  onChange={(v) => setItem(k, { daysToKeep: v === '' ? '' : Number(v) })}
                  error={err(`items.${k}.daysToKeep`)}
                  w={260}
                />
              </Group>
            ))}
            {itemsError && (
              <Text size="sm" c="red.8" role="alert">
                {itemsError}
              </Text>
            )}
          </Stack>

          {!editing && (
            <>
              <Title order={2} size="h4" mt="sm">
                {t('wizard.steps.destination')}
              </Title>
              <DestinationStep form={form} editing={false} errors={errors} update={update} legend={t('archiving.destinationLegend')} />
              <Radio.Group label={t('wizard.actionLegend')} value={form.action} onChange={(v) => update({ action: v as WizardForm['action'] })} required>
                <Stack mt="xs" gap="xs">
                  {ACTIONS.map((a) => (
                    <Radio key={a} value={a} label={t(`archiving.actions.${a}`)} />
                  ))}
                </Stack>
              </Radio.Group>
            </>
          )}
          {editing && <Text size="sm">{t('archiving.destinationsElsewhere')}</Text>}
          {unplaced && (
            <Alert color="red" role="alert">
              {t('common.error', { message: unplaced })}
            </Alert>
          )}
          {Object.keys(errors).length > 0 && (
            <Text size="sm" c="red.8" role="alert">
              {t('wizard.fixErrors')}
            </Text>
          )}
          <Group justify="space-between">
            <Button variant="default" component={Link} to={existing ? `/archiving/${existing.id}` : '/archiving'}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={save.isPending}>
              {editing ? t('wizard.buttons.save') : t(`archiving.buttons.${form.action}`)}
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}
