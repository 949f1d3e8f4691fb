import { loadConfig, type WorkerConfig } from '../../functions/shared/config';

/** A valid configuration, as the stack would set it, with per-test changes. */
export function testConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    ...loadConfig({ USERS_TABLE_NAME: 'users-test', LOCK_TABLE_NAME: 'locks-test' }),
    safetyMarginMs: 1_000,
    ...overrides,
  };
}
