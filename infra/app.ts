import { App } from 'aws-cdk-lib';
import { PassiveUsersStack } from './passive-users-stack';
import { pointAtLocalEngine } from './sam-local';
import { addSecurityChecks } from './security-checks';

const app = new App();
// The kill switch: `cdk deploy -c enabled=false` pauses every worker's schedule (npm run pause), `-c enabled=true`
// resumes. (`npm run cli -- pause <worker>` pauses one worker at run time, without a deploy.)
const enabled = app.node.tryGetContext('enabled') as unknown;
if (enabled !== undefined && String(enabled) !== 'true' && String(enabled) !== 'false') {
  throw new Error(`Context "enabled" must be true or false, got ${JSON.stringify(enabled)}`);
}
const stack = new PassiveUsersStack(app, 'PassiveUsersStack', {
  description:
    'Periodic workers on one lease-lock table: marks users passive after 30 days without login, and a daily activity report.',
  checker: { enabled: String(enabled ?? 'true') === 'true' },
  activityReport: { enabled: String(enabled ?? 'true') === 'true' },
});
// `cdk synth -c samLocalEndpoint=http://host.docker.internal:8000`: a template for sam local invoke only.
const samLocalEndpoint = app.node.tryGetContext('samLocalEndpoint') as unknown;
if (samLocalEndpoint !== undefined) pointAtLocalEngine(stack, String(samLocalEndpoint));
addSecurityChecks(app);
