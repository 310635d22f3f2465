import { createKafka, ensureTopics, systemTopics } from '../../platform/kafka.js';
import { ensureDatabase, migrateLatest } from '../../platform/migrate.js';
import { withDeadline } from '../../scripts/prepare.js';
import { closeTestPool, testConfig, testDatabaseUrl } from './env.js';

/**
 * Root hooks: the test database exists and is migrated, and Kafka's topics exist, before any test.
 * The services themselves were started by `npm test`'s pretest step (scripts/ensure-services.sh).
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    const config = testConfig();
    await ensureDatabase(testDatabaseUrl);
    await migrateLatest({ databaseUrl: testDatabaseUrl, schema: 'public' });
    await withDeadline('kafka topics', 60_000, async () => {
      const admin = createKafka(config.kafkaBrokers, 'oms-tests').admin();
      await admin.connect();
      try {
        await ensureTopics(admin, systemTopics(config));
      } finally {
        await admin.disconnect();
      }
    });
  },
  async afterAll() {
    await closeTestPool();
  },
};
