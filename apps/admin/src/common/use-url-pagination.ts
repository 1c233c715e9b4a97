import { useSearchParams } from 'react-router';

/**
 * A paged list's page in the URL (`?page=`, 1 when missing or not a number), so a reload or a
 * shared link shows the same page; turning the page keeps the other parameters (the filters).
 */
export function useUrlPagination(limit: number) {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const setPage = (p: number) => {
    const next = new URLSearchParams(params);
    next.set('page', String(p));
    setParams(next);
  };
  return { page, limit, setPage };
}

export type UrlPagination = ReturnType<typeof useUrlPagination>;
