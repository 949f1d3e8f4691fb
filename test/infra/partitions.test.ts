import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaseLockTable } from '../../infra/constructs/lease-lock-table';
import {
  PeriodicWorker,
  type PeriodicWorkerProps,
  PeriodicWorkerPropsError,
} from '../../infra/constructs/periodic-worker';
import { addSecurityChecks } from '../../infra/security-checks';
import { appWithoutBundling, asList, identityStatements, synthStack } from './support';

const outdir = mkdtempSync(path.join(tmpdir(), 'partitions-infra-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** A partitioned worker on a 5-minute rate, prebuilt code (bundling is not under test). */
function workerStack(props: Partial<PeriodicWorkerProps> = {}, app = appWithoutBundling()) {
  const stack = new Stack(app, 'Workers');
  const lockTable = new LeaseLockTable(stack, 'Locks').table;
  const worker = new PeriodicWorker(stack, 'Shards', {
    code: Code.fromInline('exports.handler = async () => ({});'),
    workerName: 'shard-sweeper',
    schedule: Schedule.rate(Duration.minutes(5)),
    timeout: Duration.minutes(1),
    lockTable,
    partitions: { maxConcurrency: 16 },
    ...props,
  });
  return { app, stack, worker, template: () => Template.fromStack(stack) };
}

describe('PeriodicWorker with partitions: the engine', () => {
  it('creates a Standard state machine whose Map runs the partitions MaxConcurrency at once and fails when one failed', () => {
    const { template: synth } = workerStack();
    const template = synth();
    const definition = new Capture();

    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      DefinitionString: definition,
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    const asl = JSON.parse(
      (definition.asObject()['Fn::Join'] as [string, unknown[]])[1]
        .map((part) => (typeof part === 'string' ? part : 'TOKEN'))
        .join(''),
    );
    expect(asl.States.Partitions).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 16,
      ItemsPath: '$.partitions',
      ItemSelector: { 'partition.$': '$$.Map.Item.Value', 'tick.$': '$.tick' },
    });
    const invoke = asl.States.Partitions.ItemProcessor.States.InvokePartition;
    expect(invoke.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'PartitionFailed' },
    ]);
    expect(invoke.Retry.flatMap((retry: { ErrorEquals: string[] }) => retry.ErrorEquals)).toContain(
      'Lambda.TooManyRequestsException',
    );
    expect(asl.States.Verdict.Choices[0]).toMatchObject({ Variable: '$.failed', Next: 'TickFailed' });
  });

  it('gives the function the state machine’s ARN and lets it start executions of that state machine only', () => {
    const { stack, template: synth } = workerStack();
    const template = synth();
    const fn = new Capture();

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PARTITIONS_STATE_MACHINE_ARN: fn }) },
    });
    const arn = stack.resolve(fn.asObject());
    const statements = identityStatements(template, 'Shards');
    const start = statements.filter((s) => asList(s.Action).some((action) => action.startsWith('states:')));
    expect(start).toHaveLength(1);
    expect(start[0]).toMatchObject({ Action: 'states:StartExecution', Resource: arn });
    expect(JSON.stringify(arn)).toMatch(/stateMachine:/);
  });

  it('lets the function write only its partitions’ lock items and its history slots beside its own lock', () => {
    const { template: synth } = workerStack();
    const template = synth();

    const leadingKeys = identityStatements(template, 'Shards')
      .filter((s) => asList(s.Action).some((action) => action.startsWith('dynamodb:')))
      .map((s) => ({
        actions: asList(s.Action),
        keys: (s.Condition as Record<string, Record<string, unknown>>)?.['ForAllValues:StringLike']?.[
          'dynamodb:LeadingKeys'
        ],
      }));
    expect(leadingKeys).toEqual(
      expect.arrayContaining([
        { actions: ['dynamodb:UpdateItem'], keys: ['shard-sweeper#partition#*'] },
        { actions: ['dynamodb:UpdateItem'], keys: ['shard-sweeper#run#*'] },
      ]),
    );
  });

  it('lets the state machine invoke the worker’s function and nothing else', () => {
    const { template: synth } = workerStack();
    const template = synth();
    const roles = template.findResources('AWS::IAM::Policy');
    const machinePolicies = Object.entries(roles).filter(([id]) => id.includes('PartitionsStateMachine'));
    const invokes = machinePolicies.flatMap(([, policy]) =>
      (
        policy as {
          Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
        }
      ).Properties.PolicyDocument.Statement.filter((s) => asList(s.Action).includes('lambda:InvokeFunction')),
    );

    expect(invokes).toHaveLength(1);
    expect(JSON.stringify(invokes[0]?.Resource)).toMatch(/ShardsFunction/);
    expect(JSON.stringify(invokes[0]?.Resource)).not.toMatch(/"\*"/);
  });

  it('alarms on failed, timed-out and throttled executions and graphs the engine on the worker’s section', () => {
    const { template: synth } = workerStack();
    const template = synth();

    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionThrottled']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Threshold: 1,
        Dimensions: [{ Name: 'StateMachineArn', Value: Match.anyValue() }],
      });
    }
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('partitions engine (executions)');
  });

  it('creates no state machine and no Step Functions grant for a worker without partitions', () => {
    const { template: synth } = workerStack({ partitions: undefined });
    const template = synth();

    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PARTITIONS_STATE_MACHINE_ARN: Match.absent() }) },
    });
  });

  it.each([0, 41, 2.5])(
    'rejects partitions.maxConcurrency %s at synth, naming the prop and its range',
    (value) => {
      expect(() => workerStack({ partitions: { maxConcurrency: value } })).toThrow(PeriodicWorkerPropsError);
      expect(() => workerStack({ partitions: { maxConcurrency: value } })).toThrow(
        /partitions\.maxConcurrency must be an integer from 1 to 40/,
      );
    },
  );

  it('refuses at synth a partitions.maxConcurrency that leaves the tick no room within reservedConcurrentExecutions, naming both', () => {
    const build = () => workerStack({ reservedConcurrentExecutions: 4, partitions: { maxConcurrency: 4 } });

    expect(build).toThrow(PeriodicWorkerPropsError);
    expect(build).toThrow(/partitions\.maxConcurrency \(4\).*reservedConcurrentExecutions \(4\)/);
  });

  it('accepts partitions.maxConcurrency one below reservedConcurrentExecutions: the tick keeps its invocation', () => {
    const { template: synth } = workerStack({
      reservedConcurrentExecutions: 5,
      partitions: { maxConcurrency: 4 },
    });

    synth().hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
  });

  it('passes cdk-nag’s AwsSolutions and Serverless packs with no finding', () => {
    const app = appWithoutBundling({ outdir: mkdtempSync(path.join(outdir, 'nag-')) });
    workerStack({}, app);
    addSecurityChecks(app);

    const assembly = app.synth();

    const report = JSON.parse(
      readFileSync(path.join(assembly.directory, VALIDATION_REPORT_FILE), 'utf8'),
    ) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
    };
    const found = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((v) => `${plugin.pluginName}: ${v.ruleName} (${v.severity})`),
    );
    expect(found).toEqual([]);
  });
});

describe('PassiveUserChecker with partitions', () => {
  it('gives the checker a state machine and its ARN when partitions are on, and neither by default', () => {
    const on = synthStack({ checker: { partitions: { maxConcurrency: 16 } } }).template;
    const off = synthStack().template;

    on.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionString: Match.anyValue(),
    });
    on.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PARTITIONS_STATE_MACHINE_ARN: Match.anyValue() }) },
    });
    off.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
  });
});
