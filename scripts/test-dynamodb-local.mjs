#!/usr/bin/env node
// Runs the integration suites a second time on Amazon's DynamoDB Local. Where Java is missing it says so,
// loudly and with the fix, and skips only this engine: never silently.
import { spawnSync } from 'node:child_process';

const java = spawnSync('java', ['-version'], { stdio: 'ignore' });
if (java.error || java.status !== 0) {
  const line = '='.repeat(100);
  console.warn(
    `${line}\nSKIPPED: the DynamoDB Local run of the integration suites needs Java 17+ on PATH.\n` +
      `Install it with: apt-get install -y openjdk-17-jre-headless (then run npm run test:dynamodb-local)\n${line}`,
  );
  process.exit(0);
}
const result = spawnSync('npx', ['vitest', 'run', 'test/integration'], {
  stdio: 'inherit',
  env: { ...process.env, DYNAMODB_ENGINE: 'dynamodb-local' },
});
process.exit(result.status ?? 1);
