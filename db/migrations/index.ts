import type { Knex } from 'knex';
import * as core from './0001_core.js';
import * as relayAndSagaScheduling from './0002_relay_and_saga_scheduling.js';
import * as orderView from './0003_order_view.js';
import * as fulfillment from './0004_fulfillment.js';
import * as changes from './0005_changes.js';
import * as relayNotifyOnlyWhenIdle from './0006_relay_notify_only_when_idle.js';
import * as placementHotPath from './0007_placement_hot_path.js';
import * as lookupIndexes from './0008_lookup_indexes.js';
import * as partialRefunds from './0009_partial_refunds.js';
import * as deadLetters from './0010_dead_letters.js';
import * as fraudSignalIndexes from './0011_fraud_signal_indexes.js';
import * as apiKeys from './0012_api_keys.js';
import * as webhooks from './0013_webhooks.js';
import * as marketplaces from './0014_marketplaces.js';
import * as partitionsAsOwner from './0015_partitions_as_owner.js';
import * as orderFunnel from './0016_order_funnel.js';
import * as eventHashChain from './0017_event_hash_chain.js';
import * as orderEventPartitions from './0018_order_event_partitions.js';
import * as eventMetadata from './0019_event_metadata.js';

/**
 * Every migration, in order. Listed explicitly rather than globbed from disk so the compiled build
 * carries them and their order is reviewable. Never edit an entry once it has landed: add a new one.
 */
export const migrations: ReadonlyArray<readonly [name: string, migration: Knex.Migration]> = [
  ['0001_core', core],
  ['0002_relay_and_saga_scheduling', relayAndSagaScheduling],
  ['0003_order_view', orderView],
  ['0004_fulfillment', fulfillment],
  ['0005_changes', changes],
  ['0006_relay_notify_only_when_idle', relayNotifyOnlyWhenIdle],
  ['0007_placement_hot_path', placementHotPath],
  ['0008_lookup_indexes', lookupIndexes],
  ['0009_partial_refunds', partialRefunds],
  ['0010_dead_letters', deadLetters],
  ['0011_fraud_signal_indexes', fraudSignalIndexes],
  ['0012_api_keys', apiKeys],
  ['0013_webhooks', webhooks],
  ['0014_marketplaces', marketplaces],
  ['0015_partitions_as_owner', partitionsAsOwner],
  ['0016_order_funnel', orderFunnel],
  ['0017_event_hash_chain', eventHashChain],
  ['0018_order_event_partitions', orderEventPartitions],
  ['0019_event_metadata', eventMetadata],
];
