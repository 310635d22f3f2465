import { expect } from 'chai';
import { PressureGauge, pressureKey, PressureSignal } from '../../platform/pressure.js';
import { createRedis } from '../../platform/redis.js';
import { eventually, uniqueId } from '../support/env.js';

describe('back pressure through Redis (platform/pressure)', () => {
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'pressure-test');
  after(() => redis.quit());

  it('is up for every gauge once the front raises it, and goes down by itself when no longer raised', async () => {
    const key = pressureKey(uniqueId('test'));
    const signal = new PressureSignal(redis, key, 300);
    const gauge = new PressureGauge(redis, key, 1_000, 0);
    expect(await gauge.underPressure()).to.equal(false);
    signal.raise();
    await eventually('the gauge sees it', async () => ((await gauge.underPressure()) ? true : undefined));
    const ttl = await redis.pttl(key);
    expect(ttl).to.be.within(1, 300);
    await eventually('down once it expired', async () => ((await gauge.underPressure()) ? undefined : true), 3_000);
  });

  it('asks Redis at most once per cache period', async () => {
    const key = pressureKey(uniqueId('test'));
    const gauge = new PressureGauge(redis, key, 1_000, 60_000);
    expect(await gauge.underPressure()).to.equal(false);
    await redis.set(key, '1', 'PX', 5_000);
    expect(await gauge.underPressure(), 'the cached answer').to.equal(false);
    expect(await new PressureGauge(redis, key, 1_000, 60_000).underPressure(), 'a fresh gauge').to.equal(true);
  });
});
