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
