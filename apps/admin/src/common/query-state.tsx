import { Alert, Button, Group, Loader, Table, Text, type MantineSpacing } from '@mantine/core';
import { IconRefresh } from '@tabler/icons-react';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

interface Props<T> {
  query: Pick<UseQueryResult<T, Error>, 'data' | 'error' | 'isPending' | 'refetch' | 'isFetching'>;
  /** Whether the loaded data shows nothing (then `empty` is shown instead of the children). */
  isEmpty?(data: T): boolean;
  empty?: ReactNode;
  children(data: T): ReactNode;
}

/**
 * Loading, error (with Try again), empty and loaded states of one query, the same on every
 * page, so no page is ever blank: a lost connection shows as an error with a retry.
 */
export function QueryState<T>({ query, isEmpty, empty, children }: Props<T>) {
  const { t } = useTranslation();
  return (
    <>
      {query.error && (
        <Alert color="red" role="alert" data-testid="query-error">
          <Group justify="space-between" wrap="wrap" gap="xs">
            <Text size="sm">{t('common.error', { message: query.error.message })}</Text>
            <Button size="compact-sm" variant="default" leftSection={<IconRefresh size={14} aria-hidden />} loading={query.isFetching} onClick={() => void query.refetch()}>
              {t('queryState.retry')}
            </Button>
          </Group>
        </Alert>
      )}
      {query.isPending && !query.error && (
        <Group gap="xs" role="status" data-testid="query-loading">
          <Loader size="sm" aria-hidden />
          <Text size="sm">{t('common.loading')}</Text>
        </Group>
      )}
      {query.data !== undefined && (isEmpty?.(query.data) ? <Text data-testid="query-empty">{empty}</Text> : children(query.data))}
    </>
  );
}

interface DataTableProps {
  columns: ReactNode[];
  minWidth?: number;
  children: ReactNode;
  testId?: string;
  striped?: boolean;
  highlightOnHover?: boolean;
  verticalSpacing?: MantineSpacing;
}

/** A list's table frame: scrolls sideways on narrow screens, header cells are column headers. */
export function DataTable({ columns, minWidth = 900, children, testId, striped = true, highlightOnHover = true, verticalSpacing = 'xs' }: DataTableProps) {
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped={striped} highlightOnHover={highlightOnHover} verticalSpacing={verticalSpacing} data-testid={testId}>
        <Table.Thead>
          <Table.Tr>
            {columns.map((c, i) => (
              <Table.Th key={i} scope="col">
                {c}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>{children}</Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
