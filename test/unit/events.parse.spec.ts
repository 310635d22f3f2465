import { expect } from 'chai';
import { PAYLOAD_SHAPES, type OrderPlacedPayload } from '../../domain/eventPayloads.js';
import {
  envelopeOf,
  isEvent,
  OrderEventType,
  parseOrderEvent,
  withOrderStatus,
  type OrderEvent,
  type OrderEventEnvelope,
  type OrderEventEnvelopeOf,
} from '../../domain/events.js';
import type { EventEnvelope } from '../../platform/eventEnvelope.js';

// Compile-time: domain's typed envelope is platform's transport envelope, typed (both ways for one type).
const asTransport = (event: OrderEventEnvelope): EventEnvelope => event;
const placedAsTransport = (event: OrderEventEnvelopeOf<'order.placed'>): EventEnvelope<'order.placed', OrderPlacedPayload> =>
  event;
const transportAsPlaced = (event: EventEnvelope<'order.placed', OrderPlacedPayload>): OrderEventEnvelopeOf<'order.placed'> =>
  event;
void [asTransport, placedAsTransport, transportAsPlaced];

const envelope = (type: string, payload: unknown) => ({
  event_id: 'e1',
  order_id: 'o1',
  seq: 2,
  type,
  occurred_at: '2026-01-02T00:00:00.000Z',
  payload,
});
const packed = { shipment_id: 's1' };
const declined = { saga_id: 'g1', amount: 500, code: 'card_declined' };

describe('typed order events (domain/events)', () => {
  it('has a payload shape for every event type of the frozen table, and no other', () => {
    expect(Object.keys(PAYLOAD_SHAPES).sort()).to.deep.equal(Object.values(OrderEventType).sort());
  });

  it('parses an envelope as it comes from a stream or Kafka, narrowed by its type', () => {
    const event = parseOrderEvent(envelope('payment.declined', declined));
    if (typeof event === 'string') throw new Error(event);
    expect(isEvent(event, OrderEventType.paymentDeclined) && event.payload.code).to.equal('card_declined');
    expect(event).to.deep.equal(envelope('payment.declined', declined));
  });

  it('takes optional fields absent, and nulls where the type allows them', () => {
    expect(parseOrderEvent(envelope('shipment.packed', packed))).to.be.an('object');
    expect(parseOrderEvent(envelope('shipment.packed', { ...packed, order_status: 'confirmed' }))).to.be.an('object');
    expect(parseOrderEvent(envelope('order.cancellation_requested', { saga_id: 'g1', reason: null }))).to.be.an('object');
  });

  it('refuses, with the reason, a malformed payload: a field missing, of the wrong kind, or not an object', () => {
    expect(parseOrderEvent(envelope('payment.declined', { saga_id: 'g1', amount: 500 }))).to.equal(
      'payment.declined: payload.code missing',
    );
    expect(parseOrderEvent(envelope('payment.declined', { ...declined, amount: '500' }))).to.equal(
      'payment.declined: payload.amount string, not number',
    );
    expect(parseOrderEvent(envelope('shipment.packed', { ...packed, order_status: 7 }))).to.equal(
      'shipment.packed: payload.order_status number, not string',
    );
    expect(parseOrderEvent(envelope('order.cancellation_requested', { saga_id: 'g1' }))).to.equal(
      'order.cancellation_requested: payload.reason missing',
    );
    expect(parseOrderEvent(envelope('shipment.packed', [packed]))).to.equal('shipment.packed: payload is not an object');
    expect(parseOrderEvent(envelope('shipment.packed', null))).to.equal('shipment.packed: payload is not an object');
  });

  it('refuses an unknown event type and what is not an envelope', () => {
    expect(parseOrderEvent(envelope('order.teleported', {}))).to.equal('unknown event type order.teleported');
    expect(parseOrderEvent(envelope('toString', {}))).to.equal('unknown event type toString');
    expect(parseOrderEvent({ ...envelope('shipment.packed', packed), seq: '2' })).to.equal(
      'not an event envelope: seq is not a number',
    );
    expect(parseOrderEvent('shipment.packed')).to.equal('not an event envelope');
    expect(parseOrderEvent(null)).to.equal('not an event envelope');
  });

  it('stores an event as its envelope, and states the order status on the events that move it', () => {
    const event: OrderEvent = { type: OrderEventType.shipmentPacked, payload: packed };
    const at = { event_id: 'e1', order_id: 'o1', seq: 2, occurred_at: '2026-01-02T00:00:00.000Z' };
    expect(envelopeOf(at, event)).to.deep.equal(envelope('shipment.packed', packed));
    expect(withOrderStatus(event, 'confirmed')).to.deep.equal({
      type: 'shipment.packed',
      payload: { ...packed, order_status: 'confirmed' },
    });
  });
});
