/** A node of `EXPLAIN (ANALYZE, FORMAT JSON)` output, the fields the plan checks read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** One row of `EXPLAIN (ANALYZE, FORMAT JSON) …` as pg returns it. */
export interface ExplainRow {
  'QUERY PLAN': { Plan: PlanNode }[];
}

export const explainAnalyze = (sql: string): string => `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`;

/**
 * The rows each scan of `table` went through (returned plus filtered out); bitmap index
 * scans carry no table name and count too, so use it on statements over one table. A plan
 * check asserts the largest stays near the batch size, not the table size.
 */
export function rowsScanned(explain: ExplainRow, table: string): number[] {
  const walk = (node: PlanNode): number[] => [
    ...(node['Relation Name'] === table || node['Index Name'] ? [node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)] : []),
    ...(node.Plans ?? []).flatMap(walk),
  ];
  return walk(explain['QUERY PLAN'][0].Plan);
}
