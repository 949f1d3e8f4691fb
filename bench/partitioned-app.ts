/**
 * The CDK app the as-deployed partition benchmark synthesizes (`cdk synth --app "npx tsx bench/partitioned-app.ts"`):
 * the same `PassiveUsersStack` as infra/app.ts, with the checker's partitions on at their defaults, so its function
 * carries `PARTITIONS_STATE_MACHINE_ARN` and runs the tick's plan and each shard's partition as deployed.
 */
import { App } from 'aws-cdk-lib';
import { PassiveUsersStack } from '../infra/passive-users-stack';

const app = new App();
new PassiveUsersStack(app, 'PassiveUsersStack', {
  description: 'The passive-user checker with partitions on (as-deployed partition benchmark).',
  checker: { partitions: {} },
});
