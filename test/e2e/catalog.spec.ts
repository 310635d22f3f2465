import { expect } from 'chai';
import { createCatalog, orderBody } from '../support/catalog.js';
import { startCommandApi, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';

describe('catalog, warehouses and inventory (contract §3)', () => {
  let api: TestApi;
  before(async () => {
    api = await startCommandApi();
  });
  after(() => api.close());

  it('creates a product with 201 and replaces it with 200', async () => {
    const sku = uniqueId('SKU');
    const created = await api.put(`/api/v1/products/${sku}`, { name: 'Mug', price: 1490, currency: 'USD', weight_grams: 350 });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ sku, name: 'Mug', price: 1490, currency: 'USD', weight_grams: 350 });
    const replaced = await api.put(`/api/v1/products/${sku}`, { name: 'Big mug', price: 1990, currency: 'USD' });
    expect(replaced.status).to.equal(200);
    const row = await testPool().query('SELECT name, price, weight_grams FROM products WHERE sku = $1', [sku]);
    expect(row.rows[0]).to.deep.equal({ name: 'Big mug', price: 1990, weight_grams: 0 });
  });

  it('refuses a float price, a bad currency and a bad SKU', async () => {
    const bad = await api.put(`/api/v1/products/${uniqueId('SKU')}`, { name: 'x', price: 19.99, currency: 'dollars' });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).to.have.members(['/price', '/currency']);
    const badSku = await api.put('/api/v1/products/has%20space', { name: 'x', price: 1, currency: 'USD' });
    expect(badSku.status).to.equal(400);
    expect(badSku.body.errors[0].parameter).to.equal('sku');
  });

  it('creates a warehouse and sets stock, which GET /api/v1/inventory/{sku} then reports', async () => {
    const sku = uniqueId('SKU');
    const wh = uniqueId('WH');
    await api.put(`/api/v1/products/${sku}`, { name: 'Lamp', price: 4590, currency: 'USD' });
    const warehouse = await api.put(`/api/v1/warehouses/${wh}`, {
      name: 'Edison',
      location: { lat: 40.52, lon: -74.41 },
      capacity_per_day: 500,
      carriers: ['ups', 'fedex'],
      shipping_cost_per_kg: 450,
    });
    expect(warehouse.status).to.equal(201);
    const stock = await api.put(`/api/v1/inventory/${wh}/${sku}`, { on_hand: 25 });
    expect(stock.status).to.equal(200);
    expect(stock.body).to.deep.equal({ warehouse_id: wh, sku, on_hand: 25, reserved: 0, available: 25 });

    const inventory = await api.get(`/api/v1/inventory/${sku}`);
    expect(inventory.status).to.equal(200);
    expect(inventory.body).to.deep.include({
      sku,
      available: 25,
      warehouses: [{ warehouse_id: wh, on_hand: 25, reserved: 0, available: 25 }],
    });
  });

  it('answers 404 for stock of an unknown warehouse or product', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100], stock: [[1]] });
    expect((await api.put(`/api/v1/inventory/${uniqueId('WH')}/${skus[0]}`, { on_hand: 1 })).status).to.equal(404);
    expect((await api.put(`/api/v1/inventory/${warehouses[0]}/${uniqueId('SKU')}`, { on_hand: 1 })).status).to.equal(404);
    expect((await api.get(`/api/v1/inventory/${uniqueId('SKU')}`)).status).to.equal(404);
  });

  it('refuses to set on_hand below what is reserved (409) and keeps the stock as it was', async () => {
    const { skus, warehouses } = await createCatalog(testPool(), { prices: [100], stock: [[10]] });
    await testPool().query('UPDATE inventory SET reserved = 6 WHERE warehouse_id = $1 AND sku = $2', [warehouses[0], skus[0]]);
    const res = await api.put(`/api/v1/inventory/${warehouses[0]}/${skus[0]}`, { on_hand: 5 });
    expect(res.status).to.equal(409);
    expect(res.body.type).to.match(/inventory-below-reserved$/);
    const row = await testPool().query('SELECT on_hand, reserved FROM inventory WHERE warehouse_id = $1 AND sku = $2', [
      warehouses[0],
      skus[0],
    ]);
    expect(row.rows[0]).to.deep.equal({ on_hand: 10, reserved: 6 });
  });

  it('a product priced in another currency cannot join a USD order', async () => {
    const eur = await createCatalog(testPool(), { prices: [700], stock: [[5]], currency: 'EUR' });
    const res = await api.post(
      '/api/v1/orders',
      orderBody(uniqueId('cust'), [{ sku: eur.skus[0]!, quantity: 1 }], { currency: 'USD' }),
    );
    expect(res.status).to.equal(422);
    expect(res.body.type).to.match(/currency-mismatch$/);
  });
});
