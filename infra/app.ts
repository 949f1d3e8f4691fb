import { App } from 'aws-cdk-lib';
import { PassiveUsersStack } from './passive-users-stack';
import { pointAtLocalEngine } from './sam-local';
import { addSecurityChecks } from './security-checks';

const app = new App();
// The kill switch: `cdk deploy -c enabled=false` pauses the schedule (npm run pause), `-c enabled=true` resumes.
const enabled = app.node.tryGetContext('enabled') as unknown;
if (enabled !== undefined && String(enabled) !== 'true' && String(enabled) !== 'false') {
  throw new Error(`Context "enabled" must be true or false, got ${JSON.stringify(enabled)}`);
}
const stack = new PassiveUsersStack(app, 'PassiveUsersStack', {
  description: 'Scheduled job that marks users passive after 30 days without login, guarded by a lease lock.',
  checker: { enabled: String(enabled ?? 'true') === 'true' },
});
// `cdk synth -c samLocalEndpoint=http://host.docker.internal:8000`: a template for sam local invoke only.
const samLocalEndpoint = app.node.tryGetContext('samLocalEndpoint') as unknown;
if (samLocalEndpoint !== undefined) pointAtLocalEngine(stack, String(samLocalEndpoint));
addSecurityChecks(app);
