/** The shape of every paged list response. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export function offsetOf(q: { page: number; limit: number }): number {
  return (q.page - 1) * q.limit;
}

export function pageOf<T>(items: T[], total: number, q: { page: number; limit: number }): Page<T> {
  return { items, total, page: q.page, limit: q.limit };
}
