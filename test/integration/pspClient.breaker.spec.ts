import { expect } from 'chai';
import { freePorts } from '../../platform/http.js';
import { PspClient, PspUnavailable } from '../../platform/psp.js';

describe('PSP client: an open circuit breaker says how long to wait (no PSP listening)', () => {
  it('answers PspUnavailable with the time until the breaker half-opens, not a fixed 100 ms', async () => {
    const [port] = await freePorts(1);
    const psp = new PspClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 500, breaker: { resetTimeout: 3_000 } });
    try {
      const attempt = () =>
        psp.authorize({ amount: 100, currency: 'USD', token: 'tok_visa', reference: 'r', idempotencyKey: 'k' }).then(
          () => expect.fail('nothing listens: the call cannot succeed'),
          (error: unknown) => error as PspUnavailable,
        );
      // Connection refused, again and again: the breaker opens after its volume threshold.
      let error = await attempt();
      for (let i = 0; i < 10 && !error.breakerOpen; i++) error = await attempt();
      expect(error).to.be.instanceOf(PspUnavailable);
      expect(error.breakerOpen).to.equal(true);
      expect(error.retryAfterMs).to.be.within(2_500, 3_100);
      // Asked again a moment later, the wait is shorter by about that moment.
      const again = await attempt();
      expect(again.retryAfterMs).to.be.at.most(error.retryAfterMs!);
    } finally {
      psp.shutdown();
    }
  });
});
