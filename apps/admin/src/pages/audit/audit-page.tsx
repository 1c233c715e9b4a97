import { Badge, Button, Code, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { IconFilterOff } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Schemas } from '../../api/client';
import { useSession } from '../../auth/session';
import { BADGE_STYLES } from '../../backups/run-status-badge';
import { Pager } from '../../common/pager';
import { DataTable, QueryState } from '../../common/query-state';
import { useUrlPagination } from '../../common/use-url-pagination';
import { formatInZone } from '../../format';
import { auditEn, type AuditAction } from './audit.i18n';

const LIMIT = 50;
const ACTIONS = Object.keys(auditEn.audit.actions) as AuditAction[];
type AuditEvent = Schemas['AuditEvent'];

/** Where an event's object is shown in this UI, if it has a page. */
function targetLink(e: AuditEvent): string | null {
  if (!e.targetId) return null;
  if (e.targetType === 'run') return `/runs/${e.targetId}`;
  if (e.targetType === 'restore') return `/restore/${e.targetId}`;
  return null;
}

/** The audit trail (admin): newest first, by action and object id; filters and page live in the URL. */
export default function AuditPage() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const [params, setParams] = useSearchParams();
  const paging = useUrlPagination(LIMIT);
  const { page } = paging;
  const action = (ACTIONS as string[]).includes(params.get('action') ?? '') ? (params.get('action') as AuditAction) : undefined;
  const targetId = params.get('targetId') || undefined;
  const [typedTarget, setTypedTarget] = useState(targetId ?? '');
  const list = useQuery({
    queryKey: ['audit-events', { page, action, targetId }],
    queryFn: async () => unwrap(await api.GET('/api/v1/audit-events', { params: { query: { page, limit: LIMIT, action, targetId } } })),
  });
  const set = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) if (v) next.set(k, v); else next.delete(k);
    next.delete('page');
    setParams(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set({ targetId: typedTarget.trim() || undefined });
  };

  return (
    <Stack>
      <Title order={1} size="h2">
        {t('audit.title')}
      </Title>
      <Text size="sm">{t('audit.intro')}</Text>
      <Group component="form" onSubmit={submit} align="flex-end" gap="sm" role="search" aria-label={t('audit.filter')} wrap="wrap">
        <Select
          label={t('audit.action')}
          placeholder={t('audit.any')}
          data={ACTIONS.map((a) => ({ value: a, label: t(`audit.actions.${a}`) }))}
          value={action ?? null}
          onChange={(v) => set({ action: v ?? undefined })}
          clearable
          searchable
          w={280}
        />
        <TextInput label={t('audit.targetId')} value={typedTarget} onChange={(e) => setTypedTarget(e.currentTarget.value)} w={340} autoComplete="off" />
        <Button type="submit" variant="default">
          {t('audit.filter')}
        </Button>
        {(action || targetId) && (
          <Button variant="subtle" leftSection={<IconFilterOff size={16} aria-hidden />} onClick={() => (setTypedTarget(''), setParams(new URLSearchParams()))}>
            {t('audit.reset')}
          </Button>
        )}
      </Group>
      <QueryState query={list} isEmpty={(d) => d.items.length === 0} empty={t('audit.empty')}>
        {(data) => (
          <>
            <Text size="sm" c="dimmed" aria-live="polite">
              {t('audit.count', { count: data.total })}
            </Text>
            <DataTable
              testId="audit-table"
              minWidth={1000}
              columns={[t('audit.col.at'), t('audit.col.who'), t('audit.col.action'), t('audit.col.target'), t('audit.col.outcome'), t('audit.col.client'), t('audit.col.detail')]}
            >
              {data.items.map((e) => {
                const link = targetLink(e);
                const known = (ACTIONS as string[]).includes(e.action);
                return (
                  <Table.Tr key={e.id} data-testid="audit-row" data-action={e.action} data-outcome={e.outcome}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatInZone(e.at, zone, i18n.language)}</Table.Td>
                    <Table.Td>{e.tokenName}</Table.Td>
                    <Table.Th scope="row" fw={600}>
                      {known ? t(`audit.actions.${e.action as AuditAction}`) : e.action}
                    </Table.Th>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>
                      {e.targetType && (
                        <Text span size="sm" c="dimmed">
                          {e.targetType}{' '}
                        </Text>
                      )}
                      {link ? <Link to={link}>{e.targetId?.slice(0, 8)}</Link> : <Text span size="sm">{e.targetId ?? '–'}</Text>}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={e.outcome === 'ok' ? 'green' : e.outcome === 'refused' ? 'yellow' : 'red'} styles={BADGE_STYLES}>
                        {t(`audit.outcome.${e.outcome}`)}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{e.clientAddress ?? '–'}</Table.Td>
                    <Table.Td maw={320}>{e.detail ? <Code style={{ overflowWrap: 'anywhere', whiteSpace: 'pre-wrap' }}>{JSON.stringify(e.detail)}</Code> : '–'}</Table.Td>
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
