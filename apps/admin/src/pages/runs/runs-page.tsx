import { Badge, Box, Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { IconFilterOff } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Run } from '../../api/client';
import { useSession } from '../../auth/session';
import { RunStatusBadge } from '../../backups/run-status-badge';
import { Pager } from '../../common/pager';
import { DataTable, QueryState } from '../../common/query-state';
import { useUrlPagination } from '../../common/use-url-pagination';
import { formatBytes, formatInZone } from '../../format';
import { destinationLabel } from './labels';

const LIMIT = 20;
const STATUSES: ReadonlyArray<Run['status']> = ['queued', 'deferred', 'packing', 'dispatching', 'succeeded', 'partially_failed', 'failed', 'cancelled'];
const KINDS: ReadonlyArray<Run['kind']> = ['backup', 'archive', 'safety'];
type Filter = 'configurationId' | 'status' | 'kind';

/** Backup and archive configurations (deleted ones are not listed: their runs still are). */
function useConfigurationOptions() {
  return useQuery({
    queryKey: ['configuration-options'],
    queryFn: async () => {
      const [backups, archives] = await Promise.all([
        api.GET('/api/v1/backup-configurations', { params: { query: { limit: 100 } } }).then(unwrap),
        api.GET('/api/v1/archive-configurations', { params: { query: { limit: 100 } } }).then(unwrap),
      ]);
      return [...backups.items, ...archives.items].map((c) => ({ value: c.id, label: c.name }));
    },
  });
}

/** Runs: newest first, filtered by configuration, status and kind; filters and page live in the URL. */
export function RunsPage() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const [params, setParams] = useSearchParams();
  const paging = useUrlPagination(LIMIT);
  const { page } = paging;
  const configurationId = params.get('configurationId') ?? undefined;
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as Run['status']) : undefined;
  const kind = (KINDS as readonly string[]).includes(params.get('kind') ?? '') ? (params.get('kind') as Run['kind']) : undefined;
  const options = useConfigurationOptions();
  const list = useQuery({
    queryKey: ['runs', { page, configurationId, status, kind }],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs', { params: { query: { page, limit: LIMIT, configurationId, status, kind } } })),
    // Runs in progress change by themselves.
    refetchInterval: (q) => (q.state.data?.items.some((r) => !['succeeded', 'partially_failed', 'failed', 'cancelled'].includes(r.status)) ? 5000 : false),
  });
  const setFilter = (name: Filter, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    next.delete('page');
    setParams(next);
  };
  const filtered = Boolean(configurationId || status || kind);

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('runs.title')}
      </Title>
      <Group align="flex-end" gap="sm" role="search" aria-label={t('runs.filters')} wrap="wrap">
        <Select
          label={t('runs.configuration')}
          placeholder={t('runs.any')}
          data={options.data ?? []}
          value={configurationId ?? null}
          onChange={(v) => setFilter('configurationId', v)}
          clearable
          searchable
          w={260}
          data-testid="filter-configuration"
        />
        <Select
          label={t('runs.status')}
          placeholder={t('runs.any')}
          data={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          value={status ?? null}
          onChange={(v) => setFilter('status', v)}
          clearable
          w={200}
          data-testid="filter-status"
        />
        <Select
          label={t('runs.kind')}
          placeholder={t('runs.any')}
          data={KINDS.map((k) => ({ value: k, label: t(`runs.kinds.${k}`) }))}
          value={kind ?? null}
          onChange={(v) => setFilter('kind', v)}
          clearable
          w={180}
          data-testid="filter-kind"
        />
        {filtered && (
          <Button variant="subtle" leftSection={<IconFilterOff size={16} aria-hidden />} onClick={() => setParams(new URLSearchParams())}>
            {t('runs.reset')}
          </Button>
        )}
      </Group>
      <QueryState query={list} isEmpty={(d) => d.items.length === 0} empty={t('runs.empty')}>
        {(data) => (
        <>
          <Text size="sm" c="dimmed" aria-live="polite">
            {t('runs.count', { count: data.total })}
          </Text>
          <DataTable
            columns={[t('runs.col.configuration'), t('runs.col.kind'), t('runs.col.status'), t('runs.col.created'), t('runs.col.finished'), t('runs.col.size'), t('runs.col.destinations')]}
          >
            {data.items.map((r) => {
              const at = formatInZone(r.createdAt ?? r.startedAt ?? '', zone, i18n.language);
              return (
                <Table.Tr key={r.id} data-testid="run-row">
                  <Table.Th scope="row" fw={600}>
                    <Link to={`/runs/${r.id}`} aria-label={t('runs.open', { name: r.configurationName, at })}>
                      {r.configurationName}
                    </Link>
                  </Table.Th>
                  <Table.Td>{t(`runs.kinds.${r.kind}`)}</Table.Td>
                  <Table.Td>
                    {/* Badges cut their words short in a narrow cell (German is longer): never narrower than the word. */}
                    <Box miw="max-content">
                      <RunStatusBadge status={r.status} />
                    </Box>
                  </Table.Td>
                  <Table.Td>{at}</Table.Td>
                  <Table.Td>{r.finishedAt ? formatInZone(r.finishedAt, zone, i18n.language) : '–'}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{r.artifact?.size != null ? formatBytes(r.artifact.size, i18n.language) : '–'}</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {r.deliveries.map((d) => (
                        <Badge
                          key={d.destinationId}
                          miw="max-content"
                          variant="outline"
                          size="sm"
                          color={d.status === 'succeeded' ? 'green' : d.status === 'failed' ? 'red' : 'gray'}
                          styles={{ label: { color: 'var(--mantine-color-dark-9)', textTransform: 'none' } }}
                        >
                          {destinationLabel(t, d.type ?? '')}: {t(`run.deliveryStatus.${d.status ?? 'pending'}`)}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </DataTable>
        </>
        )}
      </QueryState>
      <Pager paging={paging} total={list.data?.total} />
    </Stack>
  );
}
