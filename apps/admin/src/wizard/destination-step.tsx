import { Alert, Button, Checkbox, Code, Group, Paper, PasswordInput, Radio, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { IconBrandDropbox, IconBucket, IconCircleCheck, IconCircleX, IconDeviceFloppy, IconExternalLink, IconFolderShare, IconMail, IconRefresh, IconServer, IconUsb } from '@tabler/icons-react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, unwrap, type DestinationRequest, type DestinationType } from '../api/client';
import { formatBytes } from '../format';
import { DESTINATION_TYPES } from '../pages/runs/labels';
import { toDestination, type WizardForm } from './wizard-state';

const ICONS: Record<DestinationType, ReactNode> = {
  local: <IconDeviceFloppy size={28} aria-hidden />,
  smb: <IconFolderShare size={28} aria-hidden />,
  sftp: <IconServer size={28} aria-hidden />,
  dropbox: <IconBrandDropbox size={28} aria-hidden />,
  usb: <IconUsb size={28} aria-hidden />,
  email: <IconMail size={28} aria-hidden />,
  s3: <IconBucket size={28} aria-hidden />,
};

const SECURITY = ['ntlmv2', 'ntlmssp', 'ntlmssp-encrypt', 'kerberos', 'ntlmv1-legacy'] as const;

/** The s3 storage classes the api takes: a Record over the generated type, so a class added there fails typecheck:admin until offered here. */
type StorageClass = NonNullable<Extract<DestinationRequest, { type: 's3' }>['storageClass']>;
const STORAGE_CLASSES = Object.keys({ STANDARD: true, STANDARD_IA: true, ONEZONE_IA: true, INTELLIGENT_TIERING: true, GLACIER_IR: true, REDUCED_REDUNDANCY: true } as const satisfies Record<StorageClass, true>) as StorageClass[];

interface Props {
  form: WizardForm;
  editing: boolean;
  /** Error messages by API field (destinations[0].host, …). */
  errors: Record<string, string>;
  update(patch: Partial<WizardForm>): void;
  /** Other words for the choice (adding a destination to a saved configuration). */
  legend?: string;
  note?: string;
}

/** Step 3: exactly one of the seven destinations, then its access data and a connection test. */
export function DestinationStep({ form, editing, errors, update, legend, note }: Props) {
  const { t } = useTranslation();
  // A refused connection test names its fields as destination.host: they stand beside the field until it is edited.
  const [testErrors, setTestErrors] = useState<Record<string, string>>({});
  const err = (k: string) => errors[`destinations[0].${k}`] ?? testErrors[k];
  const setField = (k: string, v: string) => {
    if (testErrors[k]) setTestErrors(({ [k]: _edited, ...rest }) => rest);
    update({ fields: { ...form.fields, [k]: v }, ...(k === 'host' || k === 'port' ? { confirmedFingerprint: null, presentedFingerprint: null } : {}) });
  };
  const text = (k: string, label: string, extra: { description?: string; required?: boolean; type?: string } = {}) => (
    <TextInput key={k} label={label} value={form.fields[k] ?? ''} onChange={(e) => setField(k, e.currentTarget.value)} error={err(k)} autoComplete="off" {...extra} />
  );
  const password = (k: string, label: string) => (
    <PasswordInput key={k} label={label} value={form.fields[k] ?? ''} onChange={(e) => setField(k, e.currentTarget.value)} error={err(k)} required={!editing} description={editing ? t('wizard.passwordKeep') : undefined} autoComplete="new-password" />
  );

  return (
    <Stack>
      <Radio.Group
        label={legend ?? t('wizard.destinationLegend')}
        description={note ?? t('wizard.destinationNote')}
        value={form.type ?? ''}
        onChange={(v) => (setTestErrors({}), update({ type: v as DestinationType, fields: {}, confirmedFingerprint: null, presentedFingerprint: null }))}
        error={err('type')}
        required
      >
        <SimpleGrid cols={{ base: 2, md: 3 }} mt="xs">
          {DESTINATION_TYPES.map((type) => (
            <Radio.Card key={type} value={type} p="md" radius="md" disabled={editing && type !== form.type} data-testid={`destination-${type}`}>
              <Group wrap="nowrap" gap="sm">
                <Radio.Indicator />
                {ICONS[type]}
                <Text fw={600}>{t(`destination.${type}`)}</Text>
              </Group>
            </Radio.Card>
          ))}
        </SimpleGrid>
      </Radio.Group>

      {form.type && (
        <Paper withBorder p="md">
          <Stack>
            {form.type === 'local' && text('path', t('wizard.localPath'))}
            {form.type === 'usb' && <UsbVolumeSelect value={form.fields.device ?? ''} error={err('device')} setDevice={(v) => setField('device', v)} />}
            {form.type === 'email' && (
              <>
                {text('to', t('wizard.emailTo'), { required: true, type: 'email' })}
                <Alert color="yellow" variant="light">{t('wizard.emailNote')}</Alert>
              </>
            )}
            {form.type === 'smb' && (
              <>
                {text('username', t('wizard.user'), { required: true })}
                {password('password', t('wizard.password'))}
                {text('server', t('wizard.server'), { required: true, description: t('wizard.serverHint') })}
                {text('share', t('wizard.share'), { required: true, description: t('wizard.shareHint') })}
                <Select
                  label={t('wizard.security')}
                  required
                  value={form.fields.security ?? null}
                  onChange={(v) => setField('security', v ?? '')}
                  data={SECURITY.map((s) => ({ value: s, label: t(`wizard.securityOptions.${s}`) }))}
                  error={err('security')}
                  allowDeselect={false}
                />
              </>
            )}
            {form.type === 'sftp' && (
              <>
                {text('username', t('wizard.user'), { required: true })}
                {password('password', t('wizard.password'))}
                <Group grow align="flex-start">
                  {text('host', t('wizard.server'), { required: true, description: t('wizard.serverHint') })}
                  {text('port', t('wizard.port'), { type: 'number', description: '22' })}
                </Group>
                {text('path', t('wizard.path'), { description: t('wizard.sftpPathHint') })}
              </>
            )}
            {form.type === 's3' && (
              <>
                {text('endpoint', t('wizard.s3Endpoint'), { required: true, description: t('wizard.s3EndpointHint') })}
                <Group grow align="flex-start">
                  {text('region', t('wizard.s3Region'), { required: true, description: t('wizard.s3RegionHint') })}
                  {text('bucket', t('wizard.s3Bucket'), { required: true, description: t('wizard.s3BucketHint') })}
                </Group>
                {text('prefix', t('wizard.s3Prefix'))}
                {text('accessKeyId', t('wizard.s3AccessKeyId'), { required: true })}
                {password('secretAccessKey', t('wizard.s3SecretAccessKey'))}
                <Checkbox label={t('wizard.s3PathStyle')} checked={form.fields.forcePathStyle === 'true'} onChange={(e) => setField('forcePathStyle', e.currentTarget.checked ? 'true' : '')} error={err('forcePathStyle')} />
                <Select
                  label={t('wizard.s3StorageClass')}
                  description={t('wizard.s3StorageClassHint')}
                  placeholder={t('wizard.s3StorageClassDefault')}
                  clearable
                  value={form.fields.storageClass || null}
                  onChange={(v) => setField('storageClass', v ?? '')}
                  data={STORAGE_CLASSES}
                  error={err('storageClass')}
                />
                {text('objectLockDays', t('wizard.s3ObjectLockDays'), { type: 'number', description: t('wizard.s3ObjectLockHint') })}
              </>
            )}
            {form.type === 'dropbox' && <DropboxAccess form={form} error={err('authorizationCode')} setCode={(v) => setField('authorizationCode', v)} />}
            <ConnectionTest form={form} update={update} fingerprintError={err('hostKeyFingerprint')} onFieldErrors={setTestErrors} />
          </Stack>
        </Paper>
      )}
    </Stack>
  );
}

/** The USB volumes plugged in now (GET /api/v1/destinations/usb/volumes); the saved value is the volume's device name. */
function UsbVolumeSelect({ value, error, setDevice }: { value: string; error?: string; setDevice(v: string): void }) {
  const { t, i18n } = useTranslation();
  const volumes = useQuery({
    queryKey: ['usb-volumes'],
    queryFn: async () => unwrap(await api.GET('/api/v1/destinations/usb/volumes')).items,
  });
  const items = volumes.data ?? [];
  const size = (n: number | undefined) => (n === undefined ? '?' : formatBytes(n, i18n.language));
  const data = items.map((v) => ({ value: v.device, label: v.totalBytes === undefined ? v.device : t('wizard.usbVolume', { device: v.device, free: size(v.freeBytes), total: size(v.totalBytes) }) }));
  // A saved device that is not plugged in now stays chosen (and says so) until the admin picks another.
  if (value && !items.some((v) => v.device === value)) data.push({ value, label: t('wizard.usbAbsent', { device: value }) });
  const refresh = (
    <Button variant="default" onClick={() => void volumes.refetch()} loading={volumes.isFetching} leftSection={<IconRefresh size={16} aria-hidden />} w="fit-content">
      {t('wizard.usbRefresh')}
    </Button>
  );
  return (
    <>
      <Group align="flex-end">
        <Select
          label={t('wizard.usbDevice')}
          description={t('wizard.usbDeviceHint')}
          placeholder={t('wizard.usbDefault')}
          clearable
          value={value || null}
          onChange={(v) => setDevice(v ?? '')}
          data={data}
          error={error}
          style={{ flex: 1 }}
        />
        {refresh}
      </Group>
      {volumes.isSuccess && items.length === 0 && (
        <Alert color="yellow" variant="light" role="status" data-testid="usb-none">
          {t('wizard.usbNone')}
        </Alert>
      )}
      {volumes.error && <Alert color="red" variant="light">{volumes.error.message}</Alert>}
    </>
  );
}

function DropboxAccess({ form, error, setCode }: { form: WizardForm; error?: string; setCode(v: string): void }) {
  const { t } = useTranslation();
  const url = useQuery({
    queryKey: ['dropbox-authorize-url'],
    retry: false,
    queryFn: async () => unwrap(await api.GET('/api/v1/dropbox/authorize-url')).url,
  });
  return (
    <>
      <Text size="sm">{t('wizard.dropboxSteps')}</Text>
      {url.data && (
        <Button component="a" href={url.data} target="_blank" rel="noopener noreferrer" variant="default" leftSection={<IconExternalLink size={16} aria-hidden />} w="fit-content">
          {t('wizard.dropboxOpen')}
        </Button>
      )}
      {url.error && <Alert color="yellow">{t('wizard.dropboxUnavailable')}</Alert>}
      <TextInput label={t('wizard.dropboxCode')} value={form.fields.authorizationCode ?? ''} onChange={(e) => setCode(e.currentTarget.value)} error={error} autoComplete="off" />
      <Alert color="blue" variant="light">{t('wizard.dropboxNote')}</Alert>
    </>
  );
}

/** A refused test's errors by the form's field names (destination.host → host). */
function testFieldErrors(e: ApiError): Record<string, string> {
  const named = Object.entries(e.fieldErrors).map(([field, message]) => [/^destination\.(.+)$/.exec(field)?.[1], message] as const);
  return Object.fromEntries(named.filter(([field]) => field !== undefined));
}

/** POST /api/v1/destinations/test; for SFTP it shows the presented host key to confirm. */
function ConnectionTest({ form, update, fingerprintError, onFieldErrors }: { form: WizardForm; update(p: Partial<WizardForm>): void; fingerprintError?: string; onFieldErrors(errors: Record<string, string>): void }) {
  const { t } = useTranslation();
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/destinations/test', { body: { destination: toDestination({ ...form, confirmedFingerprint: form.confirmedFingerprint }) } })),
    onMutate: () => onFieldErrors({}),
    onError: (e) => onFieldErrors(e instanceof ApiError ? testFieldErrors(e) : {}),
  });
  const beside = test.error instanceof ApiError && Object.keys(testFieldErrors(test.error)).length > 0;
  const report = test.data;
  // An SFTP server whose key is not confirmed yet is not a failure: the key is shown to confirm.
  const unconfirmedKey = Boolean(report && !report.ok && report.code === 'hostKeyMismatch' && report.hostKeyFingerprint && !form.confirmedFingerprint);
  const fingerprint = form.presentedFingerprint ?? report?.hostKeyFingerprint ?? form.confirmedFingerprint ?? null;
  return (
    <Stack gap="xs">
      <Group>
        <Button variant="default" onClick={() => test.mutate()} loading={test.isPending}>
          {t('wizard.test')}
        </Button>
      </Group>
      <div role="status" aria-live="polite">
        {report && !unconfirmedKey && (
          <Group gap={6} data-testid="test-result">
            {report.ok ? <IconCircleCheck color="var(--mantine-color-green-8)" size={18} aria-hidden /> : <IconCircleX color="var(--mantine-color-red-8)" size={18} aria-hidden />}
            <Text size="sm">{report.ok ? t('wizard.testOk') : t('wizard.testFailed', { code: report.code ?? report.steps.find((s) => !s.ok)?.detail ?? '' })}</Text>
          </Group>
        )}
        {test.error && <Text size="sm" c="red.8">{beside ? t('wizard.fixErrors') : test.error instanceof ApiError ? Object.values(test.error.fieldErrors)[0] ?? test.error.message : test.error.message}</Text>}
      </div>
      {form.type === 'sftp' && (
        <Stack gap={6}>
          {fingerprint && (
            <>
              <Text size="sm" id="fingerprint-title">{t('wizard.fingerprintTitle')}</Text>
              <Code block className="mono-box" data-testid="host-key-fingerprint" aria-labelledby="fingerprint-title">
                {fingerprint}
              </Code>
              <Checkbox
                label={t('wizard.fingerprintConfirm')}
                checked={form.confirmedFingerprint === fingerprint}
                onChange={(e) => update({ confirmedFingerprint: e.currentTarget.checked ? fingerprint : null })}
                error={fingerprintError}
              />
            </>
          )}
          {!fingerprint && fingerprintError && (
            <Text size="sm" c="red.8" role="alert">
              {fingerprintError}
            </Text>
          )}
        </Stack>
      )}
    </Stack>
  );
}
