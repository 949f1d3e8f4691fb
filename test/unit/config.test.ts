import { describe, expect, it } from 'vitest';
import { ConfigError, configDefaults, loadConfig, minWorkWindowMs } from '../../functions/shared/config';

const required = { USERS_TABLE_NAME: 'Users', LOCK_TABLE_NAME: 'Locks' };

describe('loadConfig', () => {
  it('applies the documented defaults when only the table names are set', () => {
    const config = loadConfig(required);

    expect(config).toMatchObject({
      usersTableName: 'Users',
      lockTableName: 'Locks',
      lockName: configDefaults.lockName,
      inactiveDays: 30,
      activeShards: 16,
      dryRun: false,
      eventBusName: undefined,
      warningDays: 0,
      breakerWindowHours: 24,
    });
  });

  it('reads every setting from its variable', () => {
    const config = loadConfig({
      ...required,
      INACTIVE_DAYS: '90',
      ACTIVE_SHARDS: '32',
      LEASE_SECONDS: '330',
      UPDATE_CONCURRENCY: '64',
      QUERY_PAGE_SIZE: '100',
      DRY_RUN: 'true',
      EVENT_BUS_NAME: 'users-bus',
      WARNING_DAYS: '7',
      BREAKER_WINDOW_HOURS: '72',
    });

    expect(config).toMatchObject({
      inactiveDays: 90,
      activeShards: 32,
      leaseSeconds: 330,
      updateConcurrency: 64,
      queryPageSize: 100,
      dryRun: true,
      eventBusName: 'users-bus',
      warningDays: 7,
      breakerWindowHours: 72,
    });
  });

  it('fails naming a missing table variable', () => {
    expect(() => loadConfig({ LOCK_TABLE_NAME: 'Locks' })).toThrow(/USERS_TABLE_NAME is required/);
  });

  it.each([
    ['INACTIVE_DAYS', '0', /INACTIVE_DAYS must be an integer from 1 to 3650, got "0"/],
    ['INACTIVE_DAYS', 'thirty', /INACTIVE_DAYS must be an integer/],
    ['ACTIVE_SHARDS', '1.5', /ACTIVE_SHARDS must be an integer from 1 to 1000/],
    ['UPDATE_CONCURRENCY', '1000', /UPDATE_CONCURRENCY must be an integer from 1 to 256/],
    ['DRY_RUN', 'yes', /DRY_RUN must be "true" or "false", got "yes"/],
    ['LOCK_NAME', 'bad name!', /LOCK_NAME must be/],
    ['USERS_TABLE_NAME', 'x', /USERS_TABLE_NAME must be a DynamoDB table name/],
    ['BREAKER_WINDOW_HOURS', '0', /BREAKER_WINDOW_HOURS must be an integer from 1 to 720, got "0"/],
    ['BREAKER_WINDOW_HOURS', '721', /BREAKER_WINDOW_HOURS must be an integer from 1 to 720, got "721"/],
  ])('rejects %s=%s with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ ...required, [name]: value })).toThrow(message);
  });

  it('reports every problem at once', () => {
    const attempt = () => loadConfig({ INACTIVE_DAYS: '-1', ACTIVE_SHARDS: 'many' });

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/USERS_TABLE_NAME.*LOCK_TABLE_NAME.*INACTIVE_DAYS.*ACTIVE_SHARDS/);
  });

  it('refuses inactivity warnings without an event bus to send them on', () => {
    expect(() => loadConfig({ ...required, WARNING_DAYS: '3' })).toThrow(/WARNING_DAYS needs EVENT_BUS_NAME/);
  });

  it('refuses a warning window as long as the inactivity period', () => {
    expect(() => loadConfig({ ...required, EVENT_BUS_NAME: 'b', WARNING_DAYS: '30' })).toThrow(
      /WARNING_DAYS must be less than INACTIVE_DAYS \(30\)/,
    );
  });

  it.each([
    ['ACTIVE_SHARDS', ' 16', /ACTIVE_SHARDS must be an integer from 1 to 1000, got " 16"/],
    ['ACTIVE_SHARDS', '016', /ACTIVE_SHARDS must be an integer from 1 to 1000, got "016"/],
    ['ACTIVE_SHARDS', '16\n', /ACTIVE_SHARDS must be an integer from 1 to 1000, got "16\\n"/],
    ['BREAKER_MIN_STALE', '-0', /BREAKER_MIN_STALE must be an integer from 0 to 100000000, got "-0"/],
  ])('rejects %s=%j, an integer that needed guessing, naming the variable', (name, value, message) => {
    expect(() => loadConfig({ ...required, [name]: value })).toThrow(message);
  });

  it('refuses a lease that leaves no time for work after the safety margin, naming both variables', () => {
    const attempt = () => loadConfig({ ...required, LEASE_SECONDS: '5', SAFETY_MARGIN_MS: '30000' });

    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /LEASE_SECONDS \(5\) must leave at least 10000 ms of work after SAFETY_MARGIN_MS \(30000\)/,
    );
  });

  it('reports a lease too short for its margin together with the other problems', () => {
    expect(() => loadConfig({ LEASE_SECONDS: '5' })).toThrow(
      /USERS_TABLE_NAME.*LEASE_SECONDS \(5\) must leave/,
    );
  });

  it('refuses a safety margin that takes the whole lease, naming both variables', () => {
    expect(() => loadConfig({ ...required, LEASE_SECONDS: '60', SAFETY_MARGIN_MS: '55000' })).toThrow(
      /LEASE_SECONDS \(60\) must leave at least 10000 ms of work after SAFETY_MARGIN_MS \(55000\)/,
    );
  });

  it('accepts a lease that leaves exactly the minimum work window after the safety margin', () => {
    const leaseSeconds = (configDefaults.safetyMarginMs + minWorkWindowMs) / 1000;

    expect(loadConfig({ ...required, LEASE_SECONDS: String(leaseSeconds) }).leaseSeconds).toBe(leaseSeconds);
  });

  it('reports only the range when the lease is not a number, not a work window as well', () => {
    const attempt = () => loadConfig({ ...required, LEASE_SECONDS: 'ten' });

    expect(attempt).toThrow(/LEASE_SECONDS must be an integer from 5 to 960, got "ten"$/);
  });
});
