import type { Queryable } from './db.js';

/**
 * The partition maintenance routine: this month and the next `monthsAhead` months exist. Run by
 * migrations, and daily by the command service so a long-running system never runs out of partitions.
 */
export async function ensureOrderPartitions(db: Queryable, monthsAhead: number): Promise<number> {
  const result = await db.query<{ created: number }>('SELECT ensure_order_partitions(current_date, $1) AS created', [
    monthsAhead + 1,
  ]);
  return result.rows[0]?.created ?? 0;
}
