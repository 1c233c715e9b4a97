import { Pagination } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { UrlPagination } from './use-url-pagination';

/** The page links under a list of `total` items (none while they fit on one page), named "Page n of m". */
export function Pager({ paging, total }: { paging: UrlPagination; total: number | undefined }) {
  const { t } = useTranslation();
  const pages = total === undefined ? 1 : Math.max(1, Math.ceil(total / paging.limit));
  if (pages <= 1) return null;
  return <Pagination total={pages} value={paging.page} onChange={paging.setPage} aria-label={t('common.pageOf', { page: paging.page, pages })} />;
}
