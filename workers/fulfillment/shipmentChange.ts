import type { ShipmentStatusName } from '../../domain/fulfillment.js';
import type { NewEvent } from '../../store/eventStore.js';

/**
 * What one WMS message does to its shipment: the events it records and, if it moves the shipment on,
 * its new status. The batch writes every shipment's last status in one statement (see
 * FulfillmentWorker.apply); a handler writes only what is its own (a short pick's lines).
 */
export interface ShipmentChange {
  readonly events: NewEvent[];
  readonly status?: ShipmentStatusName;
}
