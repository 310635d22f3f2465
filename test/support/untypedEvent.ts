import type { NewEvent } from '../../store/eventStore.js';

/**
 * An event of any type and payload, for the tests of the plumbing (the store, the relay), which never
 * look inside an event: the cast is the point, production code appends typed events only.
 */
export function untypedEvent(type: string, payload: object = {}): NewEvent {
  return { type, payload } as unknown as NewEvent;
}
