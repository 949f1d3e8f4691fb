#!/usr/bin/env node
// Tails the passive-user checker's log group. The name comes from the stack output `LogGroupName`, so it stays
// right whatever CloudFormation named the group. Usage: npm run logs [-- --since 1h] (STACK_NAME overrides the
// stack, AWS_PROFILE / AWS_REGION pick the account as usual). Extra arguments go to `aws logs tail`.
import { execFileSync, spawn } from 'node:child_process';

const stackName = process.env.STACK_NAME ?? 'PassiveUsersStack';

function logGroupName() {
  let described;
  try {
    described = execFileSync(
      'aws',
      ['cloudformation', 'describe-stacks', '--stack-name', stackName, '--output', 'json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
  } catch {
    console.error(
      `Could not describe stack ${stackName} with the AWS CLI: is the CLI installed, the stack deployed, and are credentials set?`,
    );
    process.exit(1);
  }
  const outputs = JSON.parse(described).Stacks?.[0]?.Outputs ?? [];
  const output = outputs.find((candidate) => candidate.OutputKey === 'LogGroupName');
  if (!output) {
    console.error(`Stack ${stackName} has no LogGroupName output; deploy the current version first.`);
    process.exit(1);
  }
  return output.OutputValue;
}

const name = logGroupName();
console.error(`Tailing ${name} (Ctrl-C to stop)`);
const tail = spawn('aws', ['logs', 'tail', name, '--follow', ...process.argv.slice(2)], { stdio: 'inherit' });
tail.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
