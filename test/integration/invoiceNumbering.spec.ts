import { expect } from 'chai';
import { DocumentKind } from '../../domain/invoice.js';
import { withTransaction } from '../../platform/db.js';
import { nextDocumentNumber } from '../../store/documents.js';
import { testPool } from '../support/env.js';

describe('invoice numbering (real PostgreSQL)', () => {
  it('numbers concurrent issues without gaps or duplicates, giving rolled-back numbers back', async () => {
    const pool = testPool();
    // A year of the test's own, far from any real one, so earlier runs' numbers do not interleave.
    const year = 3000 + Math.floor(Math.random() * 5000);
    const committed: string[] = [];
    const attempts = Array.from({ length: 30 }, (_, i) =>
      withTransaction(pool, async (tx) => {
        const { number } = await nextDocumentNumber(tx, DocumentKind.invoice, year);
        await new Promise((resolve) => setImmediate(resolve));
        // Every third issuer fails after taking its number: the transaction rolls back.
        if (i % 3 === 2) throw new Error('issue failed');
        return number;
      }).then(
        (number) => committed.push(number),
        () => undefined,
      ),
    );
    await Promise.all(attempts);

    expect(committed).to.have.length(20);
    const numbers = committed.map((n) => Number(n.split('-')[2])).sort((a, b) => a - b);
    expect(new Set(numbers).size).to.equal(20);
    const first = numbers[0]!;
    expect(numbers).to.deep.equal(Array.from({ length: 20 }, (_, i) => first + i));
    expect(committed.every((n) => n.startsWith(`INV-${year}-`))).to.equal(true);
    await pool.query('DELETE FROM document_counters WHERE year = $1', [year]);
  });
});
