import { channelForWrite, type Principal } from '../platform/access.js';
import { channelForbidden } from '../platform/authentication.js';
import type { Config } from '../platform/config.js';
import type { Pool } from '../platform/db.js';
import { checkIdempotencyKey, requestFingerprint, type StoredResponse } from '../platform/idempotency.js';
import type { Logger } from '../platform/logger.js';
import type { PressureSignal } from '../platform/pressure.js';
import { compileValidator } from '../platform/validation.js';
import { currentRequest, requestMetadata } from '../platform/traceScope.js';
import { PlacementQueue } from './placementQueue.js';
import { checkMergedLines } from './schemas/common.js';
import * as orders from './schemas/orders.js';

const validatePlaceOrder = compileValidator(orders.placeOrderBody);
/** POST /api/v1/orders as it arrives, whichever server parsed it. */
export interface PlacementHttpRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  /** The request URL as sent, the `instance` of a problem answer. */
  readonly url: string;
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  /** Who asks (the authentication gate admitted it): its channel bounds the order's, its key id scopes the Idempotency-Key. */
  readonly principal: Principal;
  /** Where external_order_id must be unique, when not the order's channel (a marketplace's namespace). */
  readonly referenceScope?: string;
}

/** Answers a placement: the response to send and whether it replays a stored one. Throws a Problem for a refusal. */
export type PlacementRoute = (request: PlacementHttpRequest) => Promise<{ response: StoredResponse; replayed: boolean }>;

/**
 * The placement route, shared by the express app and the node:http fast path: validate the body and the
 * key, queue the order for the next group commit, answer what the flush decided for it.
 */
export function createPlacementRoute(pool: Pool, config: Config, logger: Logger, pressure?: PressureSignal): PlacementRoute {
  const placements = new PlacementQueue(
    pool,
    {
      maxBatch: config.placementBatchMax,
      maxWaitMs: config.placementBatchWaitMs,
      concurrency: config.placementFlushes,
      ...(pressure === undefined ? {} : { onPressure: () => pressure.raise(), pressureQueueDepth: config.pressureQueueDepth }),
      sagaLeaseMs: config.sagaLeaseMs,
      idempotencyTtlHours: config.idempotencyTtlHours,
      idempotencyLockTimeoutMs: config.idempotencyLockTimeoutMs,
    },
    logger,
  );
  return async (request) => {
    const body = orders.canonicalPlacement(validatePlaceOrder(withKeyChannel(request.principal, request.body)));
    checkMergedLines(body.items, '/items');
    const key = checkIdempotencyKey(request.idempotencyKey);
    // The request's correlation is taken here, in its scope: the flush writes many requests' orders at once.
    const trace = currentRequest();
    const outcome = await placements.place({
      body,
      instance: request.url,
      // The actor is the placement's principal: a key's, or a marketplace's (its signed webhook).
      ...(trace === undefined
        ? {}
        : {
            metadata: {
              ...requestMetadata(trace),
              actor: { kind: 'api_key', key_id: request.principal.keyId, channel: request.principal.channel },
            },
          }),
      ...(request.referenceScope === undefined ? {} : { referenceScope: request.referenceScope }),
      ...(key === undefined
        ? {}
        : {
            key: {
              key,
              scope: request.principal.keyId,
              fingerprint: requestFingerprint(request.method, request.path, request.body),
              method: request.method,
              path: request.path,
            },
          }),
    });
    if (outcome.kind === 'error') throw outcome.error;
    return { response: outcome.response, replayed: outcome.replayed };
  };
}

/**
 * A channel key's body with its channel: an omitted `channel` is the key's, another channel is refused
 * (403). A back-office key's body is as sent. The Idempotency-Key fingerprint stays that of the body sent.
 */
export function withKeyChannel(principal: Principal, body: unknown): unknown {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  const decision = channelForWrite(principal, isObject ? (body as { channel?: unknown }).channel : undefined);
  switch (decision.kind) {
    case 'as-sent':
      return body;
    case 'take-key-channel':
      return isObject ? { ...body, channel: decision.channel } : body;
    case 'forbidden':
      throw channelForbidden(decision.keyChannel);
    default: {
      const unreachable: never = decision;
      throw new Error(`unknown channel decision ${JSON.stringify(unreachable)}`);
    }
  }
}
