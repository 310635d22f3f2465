import { expect } from 'chai';
import { loadConfig } from '../../platform/config.js';

describe('configuration', () => {
  it('works with no environment at all', () => {
    const config = loadConfig({});
    expect(config.port).to.equal(8080);
    expect(config.kafkaBrokers).to.deep.equal(['127.0.0.1:9092']);
    expect(config.kafkaTopicPartitions).to.equal(64);
    expect(config.databaseSchema).to.equal('public');
    // Retention (issue 15): events kept 7 years, order rows 2 years in the database.
    expect([config.orderHotMonths, config.eventRetentionYears, config.archiveDir]).to.deep.equal([24, 7, 'archive']);
  });

  it('reads lists and numbers from the environment', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', PORT: '9000', SEED_DEMO_CATALOG: 'false' });
    expect(config.kafkaBrokers).to.deep.equal(['a:1', 'b:2']);
    expect(config.port).to.equal(9000);
    expect(config.seedDemoCatalog).to.equal(false);
    const retention = loadConfig({ ORDER_HOT_MONTHS: '36', EVENT_RETENTION_YEARS: '10', ARCHIVE_DIR: '/cold/oms' });
    expect([retention.orderHotMonths, retention.eventRetentionYears, retention.archiveDir]).to.deep.equal([36, 10, '/cold/oms']);
  });

  it('refuses values it cannot use, naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(/PORT/);
    expect(() => loadConfig({ DATABASE_SCHEMA: 'x; drop table orders' })).to.throw(/DATABASE_SCHEMA/);
    expect(() => loadConfig({ IDEMPOTENCY_TTL_HOURS: '1' })).to.throw(/IDEMPOTENCY_TTL_HOURS/);
  });
});
