import type { Pool } from '../../platform/db.js';
import { isUuid } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { PspClient } from '../../platform/psp.js';
import { withStatementTimeout, type SweepPass, type SweepWindow } from '../../platform/sweep.js';

/** The PSP idempotency key of the sweep's void of an authorization: one void per authorization, however often swept. */
export const orphanVoidKey = (authorizationId: string) => `orphan:${authorizationId}:void`;

/**
 * The saga worker's sweep: an authorization the PSP still holds open that no saga of ours owns — its
 * saga (named by the authorization's reference) finished without a payment recording it, or our books
 * say it is voided — is voided at the PSP. That happens when the PSP's answer was lost: the saga timed
 * out waiting, rolled back after the PSP authorized, or crashed between the call and its commit. The
 * sweep pages through the PSP's open authorizations older than the grace period (GET
 * /v1/authorizations?status=authorized&after=&created_before=, in id order), looks their sagas up in
 * one statement, and voids the orphans with a key of their own, so it voids each once.
 */
export function orphanAuthorizationsSweep(pool: Pool, psp: PspClient, logger: Logger) {
  return async (window: SweepWindow): Promise<SweepPass> => {
    const open = await psp.listAuthorizations({
      status: 'authorized',
      after: window.after,
      createdBefore: new Date(Date.now() - window.graceMs),
      limit: Math.min(window.scanLimit, 1_000),
    });
    const ours = open.filter((a) => isUuid(a.reference));
    const orphans =
      ours.length === 0
        ? []
        : await withStatementTimeout(pool, window.statementTimeoutMs, async (tx) => {
            const result = await tx.query<{ authorization_id: string; saga_id: string; order_id: string }>(
              `SELECT a.authorization_id::text, s.saga_id, s.order_id
                 FROM unnest($1::uuid[], $2::uuid[]) AS a(authorization_id, saga_id)
                 JOIN sagas s ON s.saga_id = a.saga_id
                WHERE s.status IN ('completed', 'failed')
                  AND NOT EXISTS (SELECT 1 FROM payments p
                                   WHERE p.order_id = s.order_id AND p.authorization_code = a.authorization_id::text
                                     AND p.status <> 'voided')
                LIMIT $3`,
              [ours.map((a) => a.authorization_id), ours.map((a) => a.reference), window.repairLimit],
            );
            return result.rows;
          });
    let repaired = 0;
    for (const orphan of orphans) {
      const outcome = await psp.voidAuthorization(orphan.authorization_id, orphanVoidKey(orphan.authorization_id));
      if (outcome.kind === 'voided') repaired++;
      logger.warn(
        { sweep: 'orphan-authorizations', ...orphan, outcome: outcome.kind },
        'sweep: the PSP held an authorization no saga owns (its answer was lost); voided it',
      );
    }
    const last = open[open.length - 1];
    const cutShort = orphans.length >= window.repairLimit ? orphans[orphans.length - 1]?.authorization_id : undefined;
    return { upTo: cutShort ?? (open.length < Math.min(window.scanLimit, 1_000) ? undefined : last?.authorization_id), repaired };
  };
}
