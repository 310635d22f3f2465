import { expect } from 'chai';
import { captureAmount, fulfillmentStatus, shipmentValue, trackingBackoffMs } from '../../domain/fulfillment.js';
import { CarrierStatus, makeTrackingNumber, parseTrackingNumber } from '../../platform/carrierProtocol.js';
import { parseShortPicks, shortOf } from '../../simulators/wms/shortPick.js';
import { trackingUpdate } from '../../workers/tracking/trackingUpdate.js';

const line = (quantity: number, shipped: number, cancelled = 0) => ({
  quantity,
  quantity_shipped: shipped,
  quantity_cancelled: cancelled,
});

describe('fulfillment rules (domain)', () => {
  describe('the order status follows its lines and shipments', () => {
    it('is processing until a unit ships, partially shipped until every unit has, then shipped', () => {
      expect(fulfillmentStatus([line(2, 0), line(1, 0)], [{ status: 'created' }])).to.equal('processing');
      expect(fulfillmentStatus([line(2, 2), line(1, 0)], [{ status: 'shipped' }, { status: 'packed' }])).to.equal(
        'partially_shipped',
      );
      expect(fulfillmentStatus([line(2, 2), line(1, 1)], [{ status: 'shipped' }, { status: 'in_transit' }])).to.equal('shipped');
    });

    it('is delivered only when every shipment that left has arrived', () => {
      expect(fulfillmentStatus([line(2, 2), line(1, 1)], [{ status: 'delivered' }, { status: 'in_transit' }])).to.equal(
        'shipped',
      );
      expect(
        fulfillmentStatus([line(2, 2), line(1, 1)], [{ status: 'delivered' }, { status: 'delivered' }, { status: 'cancelled' }]),
      ).to.equal('delivered');
    });

    it('counts cancelled units as not to ship, and an order with nothing left to ship and nothing shipped is cancelled', () => {
      expect(fulfillmentStatus([line(3, 1, 2)], [{ status: 'delivered' }])).to.equal('delivered');
      expect(fulfillmentStatus([line(3, 0, 3)], [{ status: 'cancelled' }])).to.equal('cancelled');
    });
  });

  describe('captures', () => {
    it('capture exactly a shipment’s value, never beyond what the authorization has left', () => {
      expect(
        shipmentValue([
          { quantity: 2, unit_price: 1500 },
          { quantity: 1, unit_price: 99 },
        ]),
      ).to.equal(3099);
      expect(captureAmount(3000, 10_000, 2_000)).to.equal(3000);
      expect(captureAmount(3000, 10_000, 8_500)).to.equal(1500);
      expect(captureAmount(3000, 10_000, 10_000)).to.equal(0);
    });
  });

  describe('tracking', () => {
    it('backs off exponentially while nothing changes, up to the cap', () => {
      expect([0, 1, 2, 3, 10].map((n) => trackingBackoffMs(n, 1000, 8000))).to.deep.equal([1000, 2000, 4000, 8000, 8000]);
    });

    it('moves a shipment forward only', () => {
      expect(trackingUpdate('shipped', CarrierStatus.labelCreated)).to.equal(undefined);
      expect(trackingUpdate('shipped', CarrierStatus.inTransit)).to.equal('in_transit');
      expect(trackingUpdate('shipped', CarrierStatus.delivered)).to.equal('delivered');
      expect(trackingUpdate('in_transit', CarrierStatus.inTransit)).to.equal(undefined);
      expect(trackingUpdate('delivered', CarrierStatus.inTransit)).to.equal(undefined);
    });

    it('carries the label time in a sandbox tracking number', () => {
      const number = makeTrackingNumber('ups', 1_790_000_000_123, () => 0.5);
      expect(number).to.match(/^UPS-[0-9a-z]+-[0-9A-Z]{6}$/);
      expect(parseTrackingNumber(number)).to.deep.equal({ carrier: 'ups', labelAt: 1_790_000_000_123 });
      expect(parseTrackingNumber('not a tracking number')).to.equal(undefined);
    });
  });

  describe('the WMS sandbox’s short-pick setting', () => {
    it('reads SKU=missing and WAREHOUSE:SKU=missing rules and applies the first that matches', () => {
      const rules = parseShortPicks(' WH-1:SKU-A=2, SKU-B=5 ');
      expect(shortOf(rules, 'WH-1', 'SKU-A', 3)).to.equal(2);
      expect(shortOf(rules, 'WH-2', 'SKU-A', 3)).to.equal(0);
      expect(shortOf(rules, 'WH-2', 'SKU-B', 3)).to.equal(3);
      expect(parseShortPicks('')).to.deep.equal([]);
      expect(() => parseShortPicks('SKU-A')).to.throw(/WMS_SHORT_PICK/);
    });
  });
});
