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
      // The SDK's documented switch for its 9-line "Node 20 support ends" notice (aws/aws-sdk-js-v3#7983); other
      // warnings still print. Node 20 is still supported here (package.json engines), Lambda runs Node 24.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
