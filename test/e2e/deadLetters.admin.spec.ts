import { expect } from 'chai';
import { PgDeadLetters, type DeadLetter } from '../../platform/deadLetters.js';
import { createKafka } from '../../platform/kafka.js';
import { eventually, testDatabaseUrl, uniqueId } from '../support/env.js';
import { startNode } from '../support/processes.js';
import { groupStreams, parseFields } from '../../platform/streams.js';
import { addBrokenOrderPlaced } from '../support/deadLetters.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

describe('dead letters: listed, re-driven and discarded through the admin API and the CLI', function () {
  this.timeout(60_000);
  let system: TestSystem;
  before(async () => {
    // Quick retries, so a message that keeps failing is dead-lettered within a second.
    system = await startTestSystem({ env: { CONSUMER_RETRY_BASE_MS: '20', CONSUMER_RETRY_MAX_MS: '100' } });
  });
  after(() => system.stop());

  const letters = async (query: string): Promise<DeadLetter[]> => {
    const res = await system.get(`/api/v1/admin/dead-letters${query}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.dead_letters as DeadLetter[];
  };

  /** A copy of an order.placed that names no saga (test/support/deadLetters): the saga group can never handle it. */
  async function brokenOrderPlaced(): Promise<string> {
    const { skus } = await system.catalog({ prices: [500], stock: [[10]] });
    return addBrokenOrderPlaced(system, skus[0]!);
  }

  it('lists a consumer dead letter, re-drives it to its group (409 twice), counts it again when it fails again, then discards it', async () => {
    const eventId = await brokenOrderPlaced();
    const [letter] = await eventually('dead-lettered by the saga group', async () => {
      const list = (await letters('?group=saga&status=dead')).filter((l) => l.event_id === eventId);
      return list.length === 1 ? list : undefined;
    });
    expect(letter).to.include({ source: 'saga', transport: 'redis-stream', type: 'order.placed', attempts: 5, status: 'dead' });
    expect(letter?.error).to.match(/not a saga id/);
    expect(letter!.first_failure_at <= letter!.last_failure_at).to.equal(true);

    const redriven = await system.post(`/api/v1/admin/dead-letters/${letter!.id}/redrive`, undefined);
    expect(redriven.status, JSON.stringify(redriven.body)).to.equal(200);
    expect(redriven.body).to.include({ id: letter!.id, status: 'redriven', redrives: 1 });
    expect(redriven.body.redriven_at).to.be.a('string');
    const again = await system.post(`/api/v1/admin/dead-letters/${letter!.id}/redrive`, undefined);
    expect(again.status).to.equal(409);
    expect(again.headers.get('content-type')).to.match(/application\/problem\+json/);
    expect(again.body.type).to.equal('/problems/dead-letter-redriven');

    // The cause is not fixed: the re-driven entry fails again and the same row is dead again, its attempts added up.
    const [dead] = await eventually('dead again', async () => {
      const list = (await letters('?group=saga&status=dead')).filter((l) => l.event_id === eventId);
      return list.length === 1 ? list : undefined;
    });
    expect(dead).to.include({ id: letter!.id, attempts: 10, redrives: 1 });
    expect(dead?.entry_id).to.not.equal(letter!.entry_id);

    const discarded = await system.post(`/api/v1/admin/dead-letters/${letter!.id}/discard`, undefined);
    expect(discarded.status).to.equal(200);
    expect(discarded.body).to.include({ status: 'discarded' });
    const discardAgain = await system.post(`/api/v1/admin/dead-letters/${letter!.id}/discard`, undefined);
    expect(discardAgain.status).to.equal(409);
    expect(discardAgain.body.type).to.equal('/problems/dead-letter-discarded');
    expect((await letters('?status=discarded')).map((l) => l.id)).to.include(letter!.id);
    expect((await letters('?group=saga&status=dead')).map((l) => l.id)).to.not.include(letter!.id);
  });

  it('answers 404 for an unknown dead letter, 400 for a malformed id or filter', async () => {
    const unknown = '0190f0f0-0000-7000-8000-000000000000';
    for (const action of ['redrive', 'discard']) {
      const res = await system.post(`/api/v1/admin/dead-letters/${unknown}/${action}`, undefined);
      expect(res.status).to.equal(404);
      expect(res.body.type).to.equal('/problems/not-found');
      const bad = await system.post(`/api/v1/admin/dead-letters/urn:uuid:${unknown}/${action}`, undefined);
      expect(bad.status).to.equal(400);
    }
    expect((await system.get('/api/v1/admin/dead-letters?status=alive')).status).to.equal(400);
    expect((await system.get('/api/v1/admin/dead-letters?limit=0')).status).to.equal(400);
    expect((await system.get('/api/v1/admin/dead-letters?color=red')).status).to.equal(400);
  });

  it("re-drives a Kafka consumer's dead letter by producing it again to its topic with its key and a redrive-for header", async () => {
    const sink = new PgDeadLetters(system.pool, system.logger);
    const orderId = '0190f0f0-0000-7000-8000-0000000000aa';
    const letter = await sink.record({
      source: 'oms-wms-sim',
      transport: 'kafka',
      stream: system.topic,
      entryId: '2:41',
      eventId: uniqueId('evt'),
      orderId,
      type: 'shipment.created',
      message: { key: orderId, headers: { id: 'x', eventType: 'shipment.created' }, value: '{"order_id":"x"}' },
      error: 'boom',
      attempts: 5,
    });
    const kafka = createKafka(system.config.kafkaBrokers, uniqueId('dead-letters-test'));
    const consumer = kafka.consumer({ groupId: uniqueId('dead-letters-test'), maxWaitTimeInMs: 200 });
    const seen: Array<{ key: string | undefined; headers: Record<string, string>; value: string | undefined }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [system.topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          seen.push({ key: message.key?.toString(), headers, value: message.value?.toString() });
        },
      });
      const res = await system.post(`/api/v1/admin/dead-letters/${letter.id}/redrive`, undefined);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const copy = await eventually('the record produced again', async () =>
        seen.find((m) => m.headers['redrive-for'] === 'oms-wms-sim'),
      );
      expect(copy).to.deep.equal({
        key: orderId,
        headers: { id: 'x', eventType: 'shipment.created', 'redrive-for': 'oms-wms-sim' },
        value: '{"order_id":"x"}',
      });
    } finally {
      await consumer.disconnect();
    }
  });

  it('works from the command line: npm run dead-letters -- list | redrive <id> | redrive --all --group | discard <id>', async () => {
    const sink = new PgDeadLetters(system.pool, system.logger);
    const group = uniqueId('cli-group');
    const stream = groupStreams(system.layout, 'projector')[0]!;
    const record = (n: number) =>
      sink.record({
        source: group,
        transport: 'redis-stream',
        stream,
        entryId: `1-${n}`,
        eventId: uniqueId('evt'),
        orderId: 'order-cli',
        type: 'cli.test',
        message: { event_id: `e${n}`, order_id: 'order-cli', type: 'cli.test', envelope: '{}' },
        error: `failure ${n}`,
        attempts: 5,
      });
    const [a, b, c] = [await record(1), await record(2), await record(3)];
    const run = async (...args: string[]) => {
      const child = startNode(
        'dist/scripts/deadLetters.js',
        {
          DATABASE_URL: testDatabaseUrl,
          DATABASE_SCHEMA: system.schema,
          REDIS_PREFIX: system.config.redisPrefix,
          KAFKA_BROKERS: system.config.kafkaBrokers.join(','),
          LOG_LEVEL: 'silent',
        },
        { args },
      );
      const code = await child.exited;
      return { code, out: child.lines.map(String).join('\n') };
    };

    const listed = await run('list', '--group', group);
    expect(listed.code).to.equal(0);
    expect(listed.out).to.match(/3 dead letter\(s\)/);
    expect(listed.out).to.contain(a.id).and.contain('failure 2');

    const one = await run('redrive', a.id);
    expect(one.code, one.out).to.equal(0);
    expect(one.out).to.match(new RegExp(`re-drove ${a.id}`));
    expect((await run('redrive', a.id)).code, 'already re-driven').to.equal(1);

    const discarded = await run('discard', b.id);
    expect(discarded.code).to.equal(0);
    const all = await run('redrive', '--all', '--group', group);
    expect(all.code).to.equal(0);
    expect(all.out)
      .to.match(/re-drove 1 dead letter\(s\)/)
      .and.contain(c.id);

    const statuses = await system.pool.query<{ id: string; status: string }>(
      'SELECT id, status FROM dead_letters WHERE source = $1 ORDER BY entry_id',
      [group],
    );
    expect(statuses.rows.map((r) => r.status)).to.deep.equal(['redriven', 'discarded', 'redriven']);
    // Each re-drive put its entry back on the stream, for this group only.
    const entries = (await system.redis.xrange(stream, '-', '+')).map(([, f]) => parseFields(f));
    expect(entries.filter((f) => f.redrive_for === group).map((f) => f.event_id)).to.deep.equal(['e1', 'e3']);
    expect((await run('nonsense')).code).to.equal(2);
  });
});
