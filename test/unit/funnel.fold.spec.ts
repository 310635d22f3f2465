import { expect } from 'chai';
import { foldFunnel, type FunnelEvent } from '../../domain/funnel.js';

describe('order funnel (domain)', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute));
  const event = (seq: number, type: string, minute: number, payload: Record<string, unknown> = {}): FunnelEvent => ({
    seq,
    type,
    occurredAt: at(minute),
    payload,
  });

  it('finds when an order reached each step, its last shipment delivered marking it delivered', () => {
    const events = [
      event(1, 'order.placed', 0, { channel: 'web' }),
      event(5, 'order.confirmed', 1),
      event(6, 'shipment.created', 2, { shipment_id: 'a' }),
      event(7, 'shipment.created', 2, { shipment_id: 'b' }),
      event(8, 'shipment.shipped', 10, { shipment_id: 'a' }),
      event(9, 'shipment.shipped', 12, { shipment_id: 'b' }),
      event(10, 'shipment.delivered', 30, { shipment_id: 'a' }),
      event(11, 'shipment.delivered', 45, { shipment_id: 'b' }),
    ];
    const expected = {
      channel: 'web',
      placedAt: at(0),
      confirmedAt: at(1),
      rejectedAt: null,
      shippedAt: at(10),
      deliveredAt: at(45),
      cancelledAt: null,
    };
    expect(foldFunnel(events)).to.deep.equal(expected);
    // The same events in any order, or twice, fold to the same row.
    expect(foldFunnel([...events].reverse())).to.deep.equal(expected);
    expect(foldFunnel([...events, ...events])).to.deep.equal(expected);
  });

  it('counts an order delivered once its other shipments were cancelled, never before any shipment', () => {
    const base = [event(1, 'order.placed', 0, { channel: 'pos' }), event(2, 'order.confirmed', 1)];
    expect(foldFunnel(base).deliveredAt).to.equal(null);
    const partly = foldFunnel([
      ...base,
      event(3, 'shipment.created', 2, { shipment_id: 'a' }),
      event(4, 'shipment.created', 2, { shipment_id: 'b' }),
      event(5, 'shipment.delivered', 20, { shipment_id: 'a' }),
    ]);
    expect(partly.deliveredAt).to.equal(null);
    const withCancel = foldFunnel([
      ...base,
      event(3, 'shipment.created', 2, { shipment_id: 'a' }),
      event(4, 'shipment.created', 2, { shipment_id: 'b' }),
      event(5, 'shipment.cancelled', 5, { shipment_id: 'b' }),
      event(6, 'shipment.delivered', 20, { shipment_id: 'a' }),
    ]);
    expect(withCancel.deliveredAt).to.deep.equal(at(20));
  });

  it('records a rejection and a cancellation', () => {
    expect(foldFunnel([event(1, 'order.placed', 0, { channel: 'mobile' }), event(4, 'order.rejected', 2)])).to.include({
      channel: 'mobile',
      confirmedAt: null,
    });
    expect(foldFunnel([event(1, 'order.placed', 0, { channel: 'mobile' }), event(4, 'order.rejected', 2)]).rejectedAt).to.deep.equal(at(2));
    expect(foldFunnel([event(1, 'order.placed', 0), event(2, 'order.confirmed', 1), event(7, 'order.cancelled', 9)]).cancelledAt).to.deep.equal(
      at(9),
    );
  });
});
