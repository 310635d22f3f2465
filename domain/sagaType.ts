/**
 * Every kind of saga the system runs, as recorded in `sagas.saga_type`: placement (reserve, authorize,
 * confirm) and the changes after placement. One frozen table (as pg-boss does for its states), so a
 * type is never spelled twice.
 */
export const SagaType = Object.freeze({
  placement: 'placement',
  cancellation: 'cancellation',
  modification: 'modification',
  refund: 'refund',
} as const);
export type SagaTypeName = (typeof SagaType)[keyof typeof SagaType];

/** The saga types the changes worker drives: the changes after placement. */
export const CHANGE_SAGA_TYPES: readonly SagaTypeName[] = Object.freeze([
  SagaType.cancellation,
  SagaType.modification,
  SagaType.refund,
]);
