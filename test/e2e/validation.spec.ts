import { expect } from 'chai';
import { orderBody, testAddress } from '../support/catalog.js';
import { startCommandApi, type TestApi } from '../support/commandApi.js';
import { testPool, uniqueId } from '../support/env.js';

describe('bad input gets problem+json and changes nothing (contract §2)', () => {
  let api: TestApi;
  before(async () => {
    api = await startCommandApi();
  });
  after(() => api.close());

  const good = () => orderBody(uniqueId('invalid'), [{ sku: 'ANY', quantity: 1 }]);

  // `any`: each case mutates one field of a plain JSON body on purpose.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const fieldCases: Array<[string, (b: Record<string, any>) => void, string]> = [
    ['missing customer_id', (b) => delete b.customer_id, '/customer_id'],
    ['customer_id with a space', (b) => (b.customer_id = 'a b'), '/customer_id'],
    ['customer_id longer than 64', (b) => (b.customer_id = 'c'.repeat(65)), '/customer_id'],
    ['unknown channel', (b) => (b.channel = 'fax'), '/channel'],
    ['zero quantity', (b) => (b.items[0].quantity = 0), '/items/0/quantity'],
    ['fractional quantity', (b) => (b.items[0].quantity = 1.5), '/items/0/quantity'],
    ['quantity as a string', (b) => (b.items[0].quantity = '2'), '/items/0/quantity'],
    ['empty items', (b) => (b.items = []), '/items'],
    ['missing sku', (b) => delete b.items[0].sku, '/items/0/sku'],
    ['lower-case currency', (b) => (b.currency = 'usd'), '/currency'],
    ['three-letter country', (b) => (b.shipping_address = { ...testAddress, country: 'GBR' }), '/shipping_address/country'],
    ['missing address line1', (b) => (b.shipping_address = { ...testAddress, line1: undefined }), '/shipping_address/line1'],
    ['latitude out of range', (b) => (b.shipping_address = { ...testAddress, lat: 91, lon: 0 }), '/shipping_address/lat'],
    ['payment type other than card', (b) => (b.payment_method = { type: 'cash', token: 'x' }), '/payment_method/type'],
    ['missing payment token', (b) => (b.payment_method = { type: 'card' }), '/payment_method/token'],
    [
      'cart_id not a uuid',
      (b) => {
        delete b.items;
        b.cart_id = 'cart-1';
      },
      '/cart_id',
    ],
    ['unknown field', (b) => (b.discount = 100), '/discount'],
  ];

  for (const [name, mutate, pointer] of fieldCases) {
    it(`400 for ${name}, naming ${pointer}`, async () => {
      const body = JSON.parse(JSON.stringify(good()));
      mutate(body);
      const res = await api.post('/api/v1/orders', body);
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status: 400, title: 'Request is invalid' });
      expect(res.body.type).to.match(/validation-error$/);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).to.include(pointer);
    });
  }

  it('reports every bad field at once', async () => {
    const res = await api.post('/api/v1/orders', { channel: 'fax', items: [{ sku: 'A', quantity: -1 }] });
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).to.include.members([
      '/customer_id',
      '/channel',
      '/items/0/quantity',
      '/shipping_address',
      '/payment_method',
    ]);
  });

  it('400 malformed-json for a body that is not JSON', async () => {
    const res = await api.request('POST', '/api/v1/orders', {
      raw: '{"customer_id": ',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).to.equal(400);
    expect(res.body.type).to.match(/malformed-json$/);
  });

  it('400 for a JSON body that is not an object', async () => {
    for (const raw of ['[]', '"text"', '42', 'null']) {
      const res = await api.request('POST', '/api/v1/orders', { raw, headers: { 'Content-Type': 'application/json' } });
      expect(res.status, raw).to.equal(400);
      expect(res.body.errors[0].pointer, raw).to.equal('');
    }
  });

  it('413 for a body over 1 MiB', async () => {
    const body = { ...good(), padding: 'x'.repeat(1024 * 1024 + 10) };
    const res = await api.post('/api/v1/orders', body);
    expect(res.status).to.equal(413);
    expect(res.body.type).to.match(/payload-too-large$/);
  });

  it('415 for a body that is not JSON by its media type', async () => {
    const res = await api.request('POST', '/api/v1/orders', {
      raw: 'customer_id=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).to.equal(415);
  });

  it('404 problem for an unknown route', async () => {
    const res = await api.get('/api/v1/nothing-here');
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('wrote no order for any of the above', async () => {
    const result = await testPool().query(`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'invalid-%'`);
    expect(result.rows[0].n).to.equal(0);
  });
});
