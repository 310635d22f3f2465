import { expect } from 'chai';
import type { ItemId, OrderId, SagaId } from '../../domain/ids.js';
import { decidePlaceOrder, type PlaceOrder } from '../../domain/placeOrder.js';
import { deciderSpec } from '../support/gwt.js';

const spec = deciderSpec(decidePlaceOrder);

const command: PlaceOrder = {
  customer_id: 'cust-1',
  channel: 'marketplace',
  external_order_id: 'AMZ-1',
  cart_id: null,
  shipping_address: { name: 'A', line1: 'L', city: 'C', postal_code: 'P', country: 'US' },
  billing_address: null,
  payment_method: { type: 'card' },
};

describe('placing an order (domain decision)', () => {
  it('given priced lines and ids, emits order.placed with one item per line and no card token', () => {
    spec
      .given({
        orderId: 'o1' as OrderId,
        sagaId: 's1' as SagaId,
        itemIds: ['i1' as ItemId, 'i2' as ItemId],
        placedAt: new Date('2026-01-02T03:04:05.006Z'),
        currency: 'USD',
        lines: [
          { sku: 'A', quantity: 2, unit_price: 100, line_total: 200 },
          { sku: 'B', quantity: 1, unit_price: 50, line_total: 50 },
        ],
        total: 250,
      })
      .when(command)
      .thenAssert((event) => {
        expect(event.items.map((i) => [i.item_id, i.sku, i.quantity, i.line_total])).to.deep.equal([
          ['i1', 'A', 2, 200],
          ['i2', 'B', 1, 50],
        ]);
        expect(event.total_amount).to.equal(250);
        expect(event.placed_at).to.equal('2026-01-02T03:04:05.006Z');
        expect(event.external_order_id).to.equal('AMZ-1');
        expect(JSON.stringify(event)).not.to.contain('tok_');
        expect(event.payment_method).to.deep.equal({ type: 'card' });
      });
  });

  it('refuses a placement whose item ids do not match its lines', () => {
    spec
      .given({
        orderId: 'o1' as OrderId,
        sagaId: 's1' as SagaId,
        itemIds: [],
        placedAt: new Date(),
        currency: 'USD',
        lines: [{ sku: 'A', quantity: 1, unit_price: 1, line_total: 1 }],
        total: 1,
      })
      .when(command)
      .thenThrows(RangeError);
  });
});
