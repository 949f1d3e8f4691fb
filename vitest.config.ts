import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start a real engine (DynamoDB Local needs a JVM); CDK tests synthesize whole stacks.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {
      // Quiet by default; tests that assert on logs or metrics capture them explicitly.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    },
  },
});
