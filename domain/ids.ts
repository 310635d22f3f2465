/** Branded ids: a plain string cannot be passed where an OrderId is expected without saying so. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type OrderId = Brand<string, 'OrderId'>;
export type ItemId = Brand<string, 'ItemId'>;
export type SagaId = Brand<string, 'SagaId'>;
export type EventId = Brand<string, 'EventId'>;
export type CartId = Brand<string, 'CartId'>;
export type Sku = Brand<string, 'Sku'>;
export type WarehouseId = Brand<string, 'WarehouseId'>;
export type CustomerId = Brand<string, 'CustomerId'>;

/** Client-chosen ids (SKUs, warehouses, customers, external references): 1–64 of letters, digits, - _ . */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
