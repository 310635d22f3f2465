import { movesForward, ShipmentStatus, type ShipmentStatusName } from '../../domain/fulfillment.js';
import { CarrierStatus, type CarrierStatusName } from '../../platform/carrierProtocol.js';

/**
 * The shipment status a carrier report moves to, or undefined when it says nothing new. The carrier's
 * words (platform/carrierProtocol) are translated into ours here, at the edge; that reports never move
 * a shipment backwards is the domain's rule (domain/fulfillment's movesForward).
 */
export function trackingUpdate(current: string, reported: CarrierStatusName): ShipmentStatusName | undefined {
  const next =
    reported === CarrierStatus.delivered
      ? ShipmentStatus.delivered
      : reported === CarrierStatus.inTransit
        ? ShipmentStatus.inTransit
        : undefined;
  return next !== undefined && movesForward(current, next) ? next : undefined;
}
