import { Alert, Badge, Button, Group, Modal, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { IconPencil, IconPlayerPlay, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap, type Configuration, type Run } from '../api/client';
import { useSession } from '../auth/session';
import { DeleteDialog } from '../backups/delete-dialog';
import { BADGE_STYLES, RunStatusBadge } from '../backups/run-status-badge';
import { BackLink } from '../common/back-link';
import { DataTable, QueryState } from '../common/query-state';
import { formatInZone } from '../format';
import { destinationLabel, useCodeText } from '../pages/runs/labels';
import { AddDestinationDialog } from './add-destination-dialog';
import { EncryptionSection, WebhooksSection } from './configuration-sections';
import { getConfiguration, KIND, listKey, removeDestination, runNow, type Kind } from './kinds';
import { ActionFeedback } from '../common/action-feedback';

type Destination = Configuration['destinations'][number];
type Delivery = Run['deliveries'][number];

/** How many recent runs are searched for each destination's last result. */
const RECENT_RUNS = 50;

/** Where a destination writes, in one line (never a secret: those come back as ***). */
export function destinationTarget(d: Destination): string {
  const s = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : '');
  switch (d.type) {
    case 'smb':
      return `\\\\${s('server')}\\${s('share').replace(/\//g, '\\')}`;
    case 'sftp':
      return `${s('username')}@${s('host')}${s('port') && s('port') !== '22' ? `:${s('port')}` : ''}:${s('path') || '.'}`;
    case 'email':
      return s('to');
    case 'usb':
      return s('device');
    case 's3':
      return `${s('endpoint').replace(/\/+$/, '')}/${s('bucket')}${s('prefix') ? `/${s('prefix').replace(/^\/+/, '')}` : ''}`;
    default:
      return s('path');
  }
}

/** The newest delivery to each destination among the configuration's recent runs. */
function lastDeliveries(runs: Run[]): Map<string, { run: Run; delivery: Delivery }> {
  const out = new Map<string, { run: Run; delivery: Delivery }>();
  for (const run of runs) for (const d of run.deliveries) if (d.destinationId && !out.has(d.destinationId)) out.set(d.destinationId, { run, delivery: d });
  return out;
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text component="dt" size="xs" c="dimmed">
        {label}
      </Text>
      <Text component="dd" m={0} size="sm" style={{ overflowWrap: 'anywhere' }}>
        {children}
      </Text>
    </div>
  );
}

/** The configuration page (/backups/:id, /archiving/:id): settings, destinations with their last result, add/remove, edit, run now, delete. */
export function ConfigurationPage({ kind }: { kind: Kind }) {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const configuration = useQuery({ queryKey: ['configuration', kind, id], queryFn: () => getConfiguration(kind, id) });
  return (
    <Stack>
      <BackLink to={KIND[kind].path} w="fit-content">{t(kind === 'backup' ? 'configurations.backToBackups' : 'configurations.backToArchiving')}</BackLink>
      <QueryState query={configuration}>{(c) => <Details c={c} />}</QueryState>
    </Stack>
  );
}

function Details({ c }: { c: Configuration }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const kind = c.kind;
  const codeText = useCodeText();
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Destination | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [message, setMessage] = useState<ReactNode>(null);
  const runs = useQuery({
    queryKey: ['runs', { configurationId: c.id, limit: RECENT_RUNS }],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs', { params: { query: { configurationId: c.id, limit: RECENT_RUNS } } })).items,
    refetchInterval: (q) => (q.state.data?.some((r) => !['succeeded', 'partially_failed', 'failed', 'cancelled'].includes(r.status)) ? 3000 : false),
  });
  const refresh = () => Promise.all([queries.invalidateQueries({ queryKey: ['configuration', kind, c.id] }), queries.invalidateQueries({ queryKey: listKey(kind) }), queries.invalidateQueries({ queryKey: ['runs'] })]);
  const run = useMutation({
    mutationFn: () => runNow(kind, c.id),
    onSuccess: async (runId) => {
      setMessage(
        <>
          {t(kind === 'backup' ? 'backups.runStarted' : 'archiving.runStarted', { name: c.name })} <Link to={`/runs/${runId}`}>{t('configurations.followRun')}</Link>
        </>,
      );
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (d: Destination) => removeDestination(kind, c.id, d.id),
    onSuccess: async (_, d) => {
      setRemoving(null);
      setMessage(t('configurations.removed', { destination: `${destinationLabel(t, d.type)} ${destinationTarget(d)}`.trim() }));
      await refresh();
    },
  });
  const canWrite = session.can('configurations.write');
  const last = lastDeliveries(runs.data ?? []);
  const when = (iso: string | null | undefined) => (iso ? formatInZone(iso, c.timezone, i18n.language) : '–');
  const data =
    kind === 'backup'
      ? (['coreData', 'cdrAndVoicemails', 'announcements'] as const).filter((k) => c.data?.[k]).map((k) => t(`wizard.${k === 'cdrAndVoicemails' ? 'cdr' : k}`)).join(', ')
      : (['cdr', 'voicemails'] as const)
          .map((k) => ({ k, item: (c.items as Record<string, { enabled?: boolean; daysToKeep?: number }> | undefined)?.[k] }))
          .filter(({ item }) => item?.enabled)
          .map(({ k, item }) => t('archiving.itemSummary', { item: t(`archiving.items.${k}`), days: item?.daysToKeep ?? 0 }))
          .join(', ');

  return (
    <>
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={1} size="h2">
            {c.name}
          </Title>
          <Badge variant="light" color="gray" styles={BADGE_STYLES}>
            {t(`runs.kinds.${kind}`)}
          </Badge>
        </Group>
        <Group gap="sm">
          {session.can('runs.start') && (
            <Button variant="light" leftSection={<IconPlayerPlay size={16} aria-hidden />} loading={run.isPending} onClick={() => run.mutate()}>
              {t('backups.runNow')}
            </Button>
          )}
          {canWrite && (
            <Button variant="default" component={Link} to={`${KIND[kind].path}/${c.id}/edit`} leftSection={<IconPencil size={16} aria-hidden />}>
              {t('backups.edit')}
            </Button>
          )}
          {canWrite && (
            <Button variant="subtle" color="red" leftSection={<IconTrash size={16} aria-hidden />} onClick={() => setDeleting(true)}>
              {t('backups.delete')}
            </Button>
          )}
        </Group>
      </Group>
      <ActionFeedback message={message} onClose={() => setMessage(null)} error={run.error} />

      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="sm">
          {t('configurations.settings')}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="sm" component="dl" m={0} data-testid="configuration-settings">
          <Fact label={t('wizard.reportTo')}>{c.reportTo}</Fact>
          <Fact label={t(kind === 'backup' ? 'wizard.interval' : 'archiving.interval')}>{t(`interval.${c.interval}`)}</Fact>
          <Fact label={t('backups.col.nextRun')}>{c.nextRunAt ? when(c.nextRunAt) : t('backups.manualNext')}</Fact>
          {c.interval !== 'manual' && c.startAt && <Fact label={`${t('wizard.start')}, ${t('wizard.time')}`}>{`${c.startAt.replace('T', ' ').slice(0, 16)} (${c.timezone})`}</Fact>}
          <Fact label={t(kind === 'backup' ? 'wizard.summary.data' : 'archiving.itemsLegend')}>{data || '–'}</Fact>
          <Fact label={t('wizard.summary.encryption')}>{t(`wizard.encryption.${c.encryption?.mode ?? 'none'}`)}</Fact>
          <Fact label={t('backups.col.lastRun')}>
            {c.lastRun ? (
              <Group gap={6} component="span">
                <RunStatusBadge status={c.lastRun.status} />
                <Link to={`/runs/${c.lastRun.id}`}>{when(c.lastRun.finishedAt ?? c.lastRun.createdAt)}</Link>
              </Group>
            ) : (
              <RunStatusBadge status="never" />
            )}
          </Fact>
        </SimpleGrid>
      </Paper>

      <Group justify="space-between" wrap="wrap">
        <Title order={2} size="h3">
          {t('backups.col.destinations')}
        </Title>
        {canWrite && (
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setAdding(true)}>
            {t('configurations.add')}
          </Button>
        )}
      </Group>
      <Text size="sm">{t('configurations.destinationsIntro')}</Text>
      <DataTable
        testId="destinations-table"
        striped={false}
        minWidth={760}
        columns={[t('run.col.destination'), t('configurations.lastResult'), ...(canWrite ? [t('backups.col.actions')] : [])]}
      >
        {c.destinations.map((d) => {
          const found = last.get(d.id);
          const text = codeText(found?.delivery.code);
          return (
            <Table.Tr key={d.id} data-testid="destination-row" data-type={d.type} data-last-status={found?.delivery.status ?? 'never'}>
              <Table.Th scope="row">
                <Text fw={600} size="sm">
                  {destinationLabel(t, d.type)}
                </Text>
                <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                  {destinationTarget(d)}
                </Text>
              </Table.Th>
              <Table.Td>
                {found ? (
                  <Stack gap={2}>
                    <Group gap={6}>
                      <Badge variant="light" color={found.delivery.status === 'succeeded' ? 'green' : found.delivery.status === 'failed' ? 'red' : 'gray'} styles={BADGE_STYLES}>
                        {t(`run.deliveryStatus.${found.delivery.status ?? 'pending'}`)}
                      </Badge>
                      <Link to={`/runs/${found.run.id}`}>{when(found.delivery.finishedAt ?? found.run.createdAt)}</Link>
                    </Group>
                    {text && (
                      <Text size="sm" data-testid="destination-code-text">
                        {text.sentence} {found.delivery.status === 'failed' && <Text span size="sm" c="dimmed">{text.hint}</Text>}
                      </Text>
                    )}
                  </Stack>
                ) : (
                  <Text size="sm" c="dimmed">
                    {runs.isPending ? t('common.loading') : t('configurations.notYet')}
                  </Text>
                )}
              </Table.Td>
              {canWrite && (
                <Table.Td>
                  <Button
                    size="compact-sm"
                    variant="subtle"
                    color="red"
                    leftSection={<IconTrash size={14} aria-hidden />}
                    disabled={c.destinations.length < 2}
                    title={c.destinations.length < 2 ? t('configurations.lastOne') : undefined}
                    aria-label={t('configurations.removeLabel', { destination: `${destinationLabel(t, d.type)} ${destinationTarget(d)}`.trim() })}
                    onClick={() => (remove.reset(), setRemoving(d))}
                  >
                    {t('configurations.remove')}
                  </Button>
                </Table.Td>
              )}
            </Table.Tr>
          );
        })}
      </DataTable>
      {c.destinations.length < 2 && canWrite && <Text size="sm" c="dimmed">{t('configurations.lastOne')}</Text>}

      {c.encryption && <EncryptionSection c={c} />}
      {c.webhooks && <WebhooksSection webhooks={c.webhooks} />}

      {adding && (
        <AddDestinationDialog
          configuration={c}
          onClose={() => setAdding(false)}
          onAdded={() => {
            setAdding(false);
            setMessage(t('configurations.added'));
          }}
        />
      )}
      {removing && (
        <Modal opened onClose={() => setRemoving(null)} title={t('configurations.removeTitle')} closeButtonProps={{ 'aria-label': t('common.close') }}>
          <Stack>
            <Text size="sm" data-testid="confirm-text">
              {t('configurations.removeText', { destination: `${destinationLabel(t, removing.type)} ${destinationTarget(removing)}`.trim(), name: c.name })}
            </Text>
            {remove.error && (
              <Alert color="red" role="alert">
                {t('common.error', { message: remove.error.message })}
              </Alert>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setRemoving(null)} data-autofocus>
                {t('common.cancel')}
              </Button>
              <Button color="red" loading={remove.isPending} onClick={() => remove.mutate(removing)}>
                {t('configurations.removeConfirm')}
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
      {deleting && <DeleteDialog configuration={c} onClose={() => setDeleting(false)} onDeleted={() => navigate(KIND[kind].path)} />}
    </>
  );
}
