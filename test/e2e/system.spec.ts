import { expect } from 'chai';
import { eventually, testDatabaseUrl } from '../support/env.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';

describe('the system as npm start runs it (supervisor and service processes)', function () {
  this.timeout(120_000);
  let system: RunningProcess;
  let baseUrl: string;

  before(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    system = startNode('dist/scripts/start.js', {
      PORT: String(port),
      DATABASE_URL: testDatabaseUrl,
      SEED_DEMO_CATALOG: 'false',
      LOG_LEVEL: 'info',
    });
    await eventually(
      'GET /health answers 200',
      async () => ((await fetch(`${baseUrl}/health`).catch(() => undefined))?.status === 200 ? true : undefined),
      90_000,
      200,
    );
  });

  after(async () => {
    if (system.child.exitCode === null) {
      system.child.kill('SIGKILL');
      await system.exited;
    }
  });

  it('reports every dependency up on GET /health', async () => {
    const res = await fetch(`${baseUrl}/health`);
    const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
    expect(body.status).to.equal('ok');
    expect(Object.keys(body.dependencies)).to.include.members(['postgres', 'redis', 'kafka']);
    expect(Object.values(body.dependencies).every((d) => d.status === 'up')).to.equal(true);
  });

  it('restarts a service process that was killed', async () => {
    const started = () =>
      system.lines.filter(
        (l): l is Record<string, unknown> =>
          typeof l === 'object' && l.msg === 'service started' && l.child === 'command-service',
      );
    const first = started()[0];
    expect(first).to.not.equal(undefined);
    process.kill(first!.child_pid as number, 'SIGKILL');
    await eventually('a second command-service process', async () => (started().length >= 2 ? true : undefined), 20_000);
    await eventually(
      'GET /health answers 200 again',
      async () => ((await fetch(`${baseUrl}/health`).catch(() => undefined))?.status === 200 ? true : undefined),
      20_000,
      100,
    );
  });

  it('stops every process cleanly on SIGINT', async () => {
    system.child.kill('SIGINT');
    expect(await system.exited).to.equal(0);
    const stopped = system.lines.filter((l) => typeof l === 'object' && l.msg === 'stopped' && l.service === 'command-service');
    expect(stopped.length).to.equal(1);
    const refused = await fetch(`${baseUrl}/health`).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
