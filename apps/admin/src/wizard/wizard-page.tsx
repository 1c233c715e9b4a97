import { Alert, Button, Checkbox, Code, Group, Paper, Radio, Select, Stack, Stepper, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, ApiError, unwrap, type Configuration, type Interval, type Schemas } from '../api/client';
import { useSession } from '../auth/session';
import { DestinationStep } from './destination-step';
import { EncryptionFields } from './encryption-fields';
import { recipientLines } from './encryption-state';
import { RunProgress } from './run-progress';
import { ACTIONS, emptyForm, formFromConfiguration, INTERVALS, SECRET_FIELDS, stepOfField, toDestination, toRequest, validateStep, type WizardForm } from './wizard-state';

const STEPS = ['general', 'data', 'destination', 'summary'] as const;
const ZONES: string[] = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];

/** The four-step backup wizard (WIZARD.md): new configuration, or edit one (/backups/:id/edit). */
export default function WizardPage() {
  const { id } = useParams();
  const session = useSession();
  const [params] = useSearchParams();
  const existing = useQuery({
    queryKey: ['backup-configuration', id],
    enabled: Boolean(id),
    queryFn: async () => unwrap(await api.GET('/api/v1/backup-configurations/{id}', { params: { path: { id: id ?? '' } } })),
  });
  if (id && !existing.data) return existing.error ? <Alert color="red">{existing.error.message}</Alert> : null;
  const interval = params.get('interval');
  const initial = existing.data ? formFromConfiguration(existing.data) : emptyForm(session.me?.timezone ?? 'UTC', INTERVALS.includes(interval as Interval) ? (interval as Interval) : 'manual');
  return <Wizard key={id ?? 'new'} initial={initial} existing={existing.data} />;
}

function Wizard({ initial, existing }: { initial: WizardForm; existing?: Configuration }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const editing = Boolean(existing);
  const [form, setForm] = useState<WizardForm>(initial);
  const [step, setStep] = useState(0);
  /** Messages by API field name: from Next's own checks or from the api's errors[]. */
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [runId, setRunId] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const update = (patch: Partial<WizardForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    // An edited field's error goes away; the others stay until the next check.
    const touched = Object.keys(patch).flatMap((k) =>
      k === 'fields' ? Object.keys(patch.fields ?? {}).map((f) => `destinations[0].${f}`) : k === 'confirmedFingerprint' ? ['destinations[0].hostKeyFingerprint'] : k === 'type' ? ['destinations[0].type'] : k === 'startDate' || k === 'startTime' ? [k, 'startAt'] : [k],
    );
    // Every encryption.* error (recipients[i] too) clears when the encryption input changes.
    const gone = (k: string) => touched.includes(k) || (touched.includes('encryption') && k.startsWith('encryption'));
    setErrors((e) => (Object.keys(e).some(gone) ? Object.fromEntries(Object.entries(e).filter(([k]) => !gone(k))) : e));
  };

  // Focus follows the step, so keyboard and screen-reader users start at its top.
  useEffect(() => heading.current?.focus(), [step, runId]);

  const save = useMutation({
    mutationFn: async () => {
      if (existing) {
        const { action: _action, destinations, ...rest } = toRequest(form);
        // The edited first destination keeps its id (and stored secrets when left empty); the others are sent back as read.
        const first = { ...destinations[0], id: existing.destinations[0]?.id };
        const body = { ...rest, destinations: [first, ...existing.destinations.slice(1)] } as Schemas['PatchBackupConfigurationRequest'];
        unwrap(await api.PATCH('/api/v1/backup-configurations/{id}', { params: { path: { id: existing.id } }, body }));
        return null;
      }
      const res = unwrap(await api.POST('/api/v1/backup-configurations', { body: toRequest(form) }));
      return 'run' in res && res.run ? res.run.id : null;
    },
    onSuccess: async (started) => {
      await queries.invalidateQueries({ queryKey: ['backup-configurations'] });
      if (started) setRunId(started);
      else navigate('/backups');
    },
    onError: (e) => {
      if (!(e instanceof ApiError)) return;
      const fields = e.fieldErrors;
      const presented = (e.problem as Record<string, unknown>).hostKeyFingerprint;
      if (typeof presented === 'string') {
        update({ presentedFingerprint: presented, confirmedFingerprint: null });
        fields['destinations[0].hostKeyFingerprint'] = t('wizard.fingerprintRequired');
      }
      if (e.status === 409 && !Object.keys(fields).length) fields.name = e.message;
      setErrors(fields);
      const first = Object.keys(fields).map(stepOfField).sort()[0];
      if (first !== undefined) setStep(first);
    },
  });

  function next(e?: FormEvent) {
    e?.preventDefault();
    const problems = validateStep(step, form, editing);
    const messages = Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, t(`wizard.${v}`)]));
    setErrors(messages);
    if (Object.keys(messages).length) {
      // The first invalid input takes the focus; its message is read with it (aria-describedby).
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    if (step < 3) {
      // A refusal of an earlier save is history once the steps are walked again.
      save.reset();
      setStep(step + 1);
    } else save.mutate();
  }

  const err = (k: string) => errors[k];
  const title = editing ? t('wizard.titleEdit', { name: existing?.name }) : t('wizard.titleNew');

  if (runId) {
    return (
      <Stack maw={900}>
        <Title order={1} size="h2" ref={heading} tabIndex={-1}>
          {title}
        </Title>
        <RunProgress runId={runId} />
      </Stack>
    );
  }

  return (
    <Stack maw={900}>
      <Title order={1} size="h2">
        {title}
      </Title>
      {/* The current step is named to assistive technology and drawn strongest (app.css): the last ticked step read as the current one. */}
      <Stepper active={step} onStepClick={(s) => s < step && setStep(s)} allowNextStepsSelect={false} size="sm" wrap className="wizard-stepper">
        {STEPS.map((s, i) => (
          <Stepper.Step key={s} label={t(`wizard.steps.${s}`)} aria-current={i === step ? 'step' : undefined} />
        ))}
      </Stepper>
      <Paper withBorder p="lg" component="form" onSubmit={next} noValidate aria-labelledby="wizard-step-title">
        <Stack>
          <Title order={2} size="h3" id="wizard-step-title" ref={heading} tabIndex={-1}>
            {t('wizard.stepOf', { n: step + 1 })}: {t(`wizard.steps.${STEPS[step]}`)}
          </Title>
          {step === 0 && (
            <>
              <TextInput label={t('wizard.name')} description={t('wizard.nameHint')} required value={form.name} onChange={(e) => update({ name: e.currentTarget.value })} error={err('name')} autoComplete="off" />
              <TextInput label={t('wizard.reportTo')} description={t('wizard.reportToHint')} required type="email" value={form.reportTo} onChange={(e) => update({ reportTo: e.currentTarget.value })} error={err('reportTo')} />
              <Select label={t('wizard.interval')} required value={form.interval} onChange={(v) => v && update({ interval: v as Interval })} data={INTERVALS.map((i) => ({ value: i, label: t(`interval.${i}`) }))} allowDeselect={false} error={err('interval')} />
              <Group grow align="flex-start">
                <TextInput label={t('wizard.start')} type="date" required={form.interval !== 'manual'} disabled={form.interval === 'manual'} value={form.startDate} onChange={(e) => update({ startDate: e.currentTarget.value })} error={err('startDate') ?? err('startAt')} />
                <TextInput label={t('wizard.time')} type="time" required={form.interval !== 'manual'} disabled={form.interval === 'manual'} value={form.startTime} onChange={(e) => update({ startTime: e.currentTarget.value })} error={err('startTime')} />
                <Select label={t('top.timezone')} searchable value={form.timezone} onChange={(v) => v && update({ timezone: v })} data={ZONES.includes(form.timezone) ? ZONES : [form.timezone, ...ZONES]} allowDeselect={false} error={err('timezone')} limit={50} />
              </Group>
              <Text size="sm" data-testid="start-timezone">
                {t('wizard.timezoneShown', { zone: form.timezone })}
              </Text>
              <Alert color="blue" variant="light">
                {t('wizard.archivingNote')}
              </Alert>
            </>
          )}
          {step === 1 && (
            <Checkbox.Group label={t('wizard.dataLegend')} required error={err('data') ?? err('data.coreData')} value={Object.entries(form.data).filter(([, v]) => v).map(([k]) => k)} onChange={(v) => update({ data: { coreData: v.includes('coreData'), cdrAndVoicemails: v.includes('cdrAndVoicemails'), announcements: v.includes('announcements') } })}>
              <Stack mt="xs">
                <Checkbox value="coreData" label={t('wizard.coreData')} description={t('wizard.coreDataHint')} />
                <Checkbox value="cdrAndVoicemails" label={t('wizard.cdr')} description={t('wizard.cdrHint')} />
                <Checkbox value="announcements" label={t('wizard.announcements')} description={t('wizard.announcementsHint')} />
              </Stack>
              <Alert color="yellow" variant="light" mt="md">
                {t('wizard.sizeNote')}
              </Alert>
            </Checkbox.Group>
          )}
          {step === 2 && (
            <>
              <DestinationStep form={form} editing={editing} errors={errors} update={update} />
              <EncryptionFields value={form.encryption} editing={editing} errors={errors} onChange={(patch) => update({ encryption: { ...form.encryption, ...patch } })} />
            </>
          )}
          {step === 3 && <Summary form={form} existing={existing} editing={editing} update={update} />}
          {save.error && !Object.keys(errors).length && (
            <Alert color="red" role="alert">
              {t('common.error', { message: save.error.message })}
            </Alert>
          )}
          {Object.keys(errors).length > 0 && (
            <Text size="sm" c="red.8" role="alert">
              {t('wizard.fixErrors')}
            </Text>
          )}
          <Group justify="space-between">
            <Group>
              {step > 0 ? (
                <Button variant="default" onClick={() => (setErrors({}), setStep(step - 1))}>
                  {t('common.back')}
                </Button>
              ) : (
                <Button variant="default" component={Link} to="/backups">
                  {t('common.cancel')}
                </Button>
              )}
            </Group>
            <Button type="submit" loading={save.isPending}>
              {step < 3 ? t('common.next') : t(`wizard.buttons.${editing ? 'save' : form.action}`)}
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}

function Summary({ form, existing, editing, update }: { form: WizardForm; existing?: Configuration; editing: boolean; update(p: Partial<WizardForm>): void }) {
  const { t } = useTranslation();
  const destination = toDestination(form) as Record<string, unknown>;
  const rows = useMemo(() => {
    const out: Array<[string, string]> = [
      [t('wizard.name'), form.name],
      [t('wizard.reportTo'), form.reportTo],
      [t('wizard.interval'), t(`interval.${form.interval}`)],
    ];
    if (form.interval !== 'manual') out.push([`${t('wizard.start')}, ${t('wizard.time')}`, `${form.startDate} ${form.startTime} (${form.timezone})`]);
    const data = (['coreData', 'cdrAndVoicemails', 'announcements'] as const).filter((k) => form.data[k]).map((k) => t(`wizard.${k === 'cdrAndVoicemails' ? 'cdr' : k}`));
    out.push([t('wizard.summary.data'), data.join(', ')]);
    out.push([t('wizard.summary.destination'), form.type ? t(`destination.${form.type}`) : '']);
    const labels: Record<string, string> = { username: t('wizard.user'), password: t('wizard.password'), server: t('wizard.server'), host: t('wizard.server'), share: t('wizard.share'), security: t('wizard.security'), path: t('wizard.path'), port: t('wizard.port'), device: t('wizard.usbDevice'), to: t('wizard.emailTo'), authorizationCode: t('wizard.dropboxCode'), hostKeyFingerprint: 'Host key',
      endpoint: t('wizard.s3Endpoint'), region: t('wizard.s3Region'), bucket: t('wizard.s3Bucket'), prefix: t('wizard.s3Prefix'), accessKeyId: t('wizard.s3AccessKeyId'), secretAccessKey: t('wizard.s3SecretAccessKey'),
      forcePathStyle: t('wizard.s3PathStyle'), storageClass: t('wizard.s3StorageClass'), objectLockDays: t('wizard.s3ObjectLockDays') };
    for (const [k, v] of Object.entries(destination)) {
      if (k === 'type') continue;
      out.push([labels[k] ?? k, SECRET_FIELDS.includes(k) ? t('common.secret') : typeof v === 'boolean' ? t(v ? 'common.yes' : 'common.no') : String(v)]);
    }
    const enc = form.encryption;
    const keys = recipientLines(enc.recipients).length;
    out.push([t('wizard.summary.encryption'), enc.mode === 'recipients' ? t('wizard.encryptionRecipientsCount', { count: keys }) : t(`wizard.encryption.${enc.mode}`)]);
    return out;
  }, [form, destination, existing, t]);
  return (
    <Stack>
      <dl className="summary-list" data-testid="wizard-summary">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{k === 'Host key' ? <Code className="mono-box">{v}</Code> : v}</dd>
          </div>
        ))}
      </dl>
      {!editing && (
        <Radio.Group label={t('wizard.actionLegend')} value={form.action} onChange={(v) => update({ action: v as WizardForm['action'] })} required>
          <Stack mt="xs" gap="xs">
            {ACTIONS.map((a) => (
              <Radio key={a} value={a} label={t(`wizard.actions.${a}`)} />
            ))}
          </Stack>
        </Radio.Group>
      )}
      <Text size="sm">{t('wizard.downloadNote')}</Text>
    </Stack>
  );
}
