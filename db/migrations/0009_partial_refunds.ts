import type { Knex } from 'knex';

/**
 * A refund spread over several captures whose PSP refusal comes after some parts were refunded is
 * booked for what the PSP did refund: `partially_refunded` (its allocations say which parts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_status_check;
    ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
      CHECK (status IN ('pending', 'succeeded', 'partially_refunded', 'failed'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE refunds SET status = 'succeeded' WHERE status = 'partially_refunded';
    ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_status_check;
    ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
  `);
}
