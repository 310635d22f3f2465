import { OrderEventType, parseOrderEvent, type OrderEventEnvelope, type OrderEventTypeName } from './events.js';

/**
 * The consumer groups that react to order events, and the event types each one handles. The relay
 * gives each group streams of its own with only those types (a group never reads, skips and
 * acknowledges the events of others); each worker handles exactly its types.
 */
export const Subscriber = Object.freeze({
  saga: 'saga',
  projector: 'projector',
  router: 'router',
  changes: 'changes',
} as const);
export type SubscriberName = (typeof Subscriber)[keyof typeof Subscriber];
export const SUBSCRIBERS: readonly SubscriberName[] = Object.freeze(Object.values(Subscriber));

/** `every`: the group reads every event (the projector folds whole histories). */
export type Subscription = readonly OrderEventTypeName[] | 'every';

export const SUBSCRIPTIONS = Object.freeze({
  saga: Object.freeze([OrderEventType.orderPlaced] as const),
  projector: 'every',
  router: Object.freeze([
    OrderEventType.orderConfirmed,
    OrderEventType.shipmentShortPicked,
    OrderEventType.orderModified,
    OrderEventType.orderModificationRejected,
  ] as const),
  changes: Object.freeze([
    OrderEventType.orderCancellationRequested,
    OrderEventType.refundRequested,
    OrderEventType.orderModificationRequested,
    OrderEventType.shipmentDelivered,
  ] as const),
} as const) satisfies Readonly<Record<SubscriberName, Subscription>>;

/** The event types `group` handles: the keys its dispatch table must have (platform/messageHandler's HandlerTable). */
export type SubscribedType<G extends SubscriberName> = (typeof SUBSCRIPTIONS)[G] extends readonly (infer T)[]
  ? T
  : OrderEventTypeName;

/** Whether `group` handles events of `type`. */
export function subscribes(group: SubscriberName, type: string): boolean {
  const subscription = SUBSCRIPTIONS[group];
  return subscription === 'every' || (subscription as readonly string[]).includes(type);
}

/**
 * What a consumer of `group`'s order event streams takes from the domain: the types it handles (others
 * are acknowledged unhandled) and the edge's check of each event (a refused one is dead-lettered).
 */
export function orderEventsFor(group: SubscriberName): {
  readonly handles: (type: string) => boolean;
  readonly parse: (value: unknown) => OrderEventEnvelope | string;
} {
  return { handles: (type) => subscribes(group, type), parse: parseOrderEvent };
}
