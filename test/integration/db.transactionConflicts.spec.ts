import { expect } from 'chai';
import { quoteIdent } from '../../platform/migrate.js';
import { withTransaction, withTransactionRetryingConflicts } from '../../platform/db.js';
import { eventually, testPool, uniqueId } from '../support/env.js';

describe('a transaction PostgreSQL rolls back for a deadlock is run again (withTransactionRetryingConflicts)', () => {
  const table = quoteIdent(uniqueId('conflict_probe').replace(/-/g, '_'));

  before(async () => {
    await testPool().query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await testPool().query(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
  });

  after(async () => {
    await testPool().query(`DROP TABLE IF EXISTS ${table}`);
  });

  it('survives being the deadlock victim: its second run commits, and each effect is there once', async () => {
    const pool = testPool();
    let runs = 0;
    let rowOneLocked!: () => void;
    const firstRunHoldsRowOne = new Promise<void>((resolve) => (rowOneLocked = resolve));
    let rowTwoLocked!: () => void;
    const otherHoldsRowTwo = new Promise<void>((resolve) => (rowTwoLocked = resolve));

    // The other transaction holds row 2, then (once the retrying one waits for row 2) asks for row 1.
    const other = withTransaction(pool, async (tx) => {
      await tx.query(`UPDATE ${table} SET n = n + 10 WHERE id = 2`);
      rowTwoLocked();
      await firstRunHoldsRowOne;
      await eventually('the retrying transaction waits for row 2', async () => {
        const { rows } = await pool.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%${table}%id = 2%`],
        );
        return rows[0]?.waiting === 1 ? true : undefined;
      });
      // The retrying transaction began waiting first, so its deadlock check fires first: it is the victim.
      await tx.query(`UPDATE ${table} SET n = n + 10 WHERE id = 1`);
    });

    await otherHoldsRowTwo;
    await withTransactionRetryingConflicts(pool, async (tx) => {
      runs++;
      await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = 1`);
      if (runs === 1) rowOneLocked();
      await tx.query(`UPDATE ${table} SET n = n + 1 WHERE id = 2`);
    });
    await other;

    expect(runs).to.equal(2);
    const { rows } = await pool.query<{ id: number; n: number }>(`SELECT id, n FROM ${table} ORDER BY id`);
    expect(rows).to.deep.equal([
      { id: 1, n: 11 },
      { id: 2, n: 11 },
    ]);
  });

  it('does not run again a transaction that failed for any other reason', async () => {
    let runs = 0;
    const failure = await withTransactionRetryingConflicts(testPool(), async (tx) => {
      runs++;
      await tx.query(`INSERT INTO ${table} VALUES (1, 0)`); // a duplicate key: not a conflict
    }).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).to.equal('23505');
    expect(runs).to.equal(1);
  });
});
