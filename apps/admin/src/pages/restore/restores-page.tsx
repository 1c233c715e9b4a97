import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { useSession } from '../../auth/session';
import { Pager } from '../../common/pager';
import { DataTable } from '../../common/query-state';
import { useUrlPagination } from '../../common/use-url-pagination';
import { formatInZone } from '../../format';
import { FINAL_STATUSES } from './restore-form';
import { RestoreStatusBadge, sourceText } from './restore-parts';

const LIMIT = 20;

/** Past restores and previews, newest first, paged on the server (the page lives in the URL). */
export function RestoresPage() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const paging = useUrlPagination(LIMIT);
  const { page } = paging;
  const list = useQuery({
    queryKey: ['restores', page],
    queryFn: async () => unwrap(await api.GET('/api/v1/restores', { params: { query: { page, limit: LIMIT } } })),
    refetchInterval: (q) => (q.state.data?.items.some((r) => !FINAL_STATUSES.includes(r.status)) ? 3000 : false),
  });
  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          {t('restore.title')}
        </Title>
        {session.can('restores.start') && (
          <Button component={Link} to="/restore/new" leftSection={<IconPlus size={16} aria-hidden />}>
            {t('restore.newRestore')}
          </Button>
        )}
      </Group>
      <Text size="sm">{t('restore.intro')}</Text>
      {list.error && (
        <Alert color="red" role="alert">
          {t('common.error', { message: list.error.message })}
        </Alert>
      )}
      {list.isPending && <Text>{t('common.loading')}</Text>}
      {list.data && list.data.items.length === 0 && <Text>{t('restore.empty')}</Text>}
      {list.data && list.data.items.length > 0 && (
        <DataTable
          testId="restores-table"
          minWidth={760}
          highlightOnHover={false}
          verticalSpacing="sm"
          columns={[t('restore.col.created'), t('restore.col.source'), t('restore.col.mode'), t('restore.col.status'), t('restore.col.details')]}
        >
          {list.data.items.map((r) => (
            <Table.Tr key={r.id} data-testid="restore-row" data-id={r.id}>
              <Table.Td>{r.createdAt ? formatInZone(r.createdAt, zone, i18n.language) : '–'}</Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{sourceText(t, r.source)}</Table.Td>
              <Table.Td>
                <Group gap={6} wrap="nowrap">
                  {t(`restore.modes.${r.mode}`)}
                  {r.preview && (
                    <Badge variant="outline" color="gray" styles={{ label: { color: 'var(--mantine-color-dark-9)' } }}>
                      {t('restore.previewBadge')}
                    </Badge>
                  )}
                </Group>
              </Table.Td>
              <Table.Td>
                <RestoreStatusBadge status={r.status} />
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/restore/${r.id}`} aria-label={`${t('restore.open')}: ${sourceText(t, r.source)}`}>
                  {t('restore.open')}
                </Anchor>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      <Pager paging={paging} total={list.data?.total} />
    </Stack>
  );
}
