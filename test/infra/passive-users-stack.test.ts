import { readFileSync } from 'node:fs';
import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  defaultMetricsNamespace,
  serviceName,
} from '../../functions/passive-user-checker/observability-names';
import { lockTable } from '../../functions/periodic-worker/lock-table-schema';
import { envNames } from '../../functions/shared/config';
import { usersTable } from '../../functions/shared/users-table-schema';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { dynamoDbEndpointVariable, pointAtLocalEngine } from '../../infra/sam-local';
import { appWithoutBundling, checkerId, ofWorker, synthStack, tunedCheckerProps } from './support';

const { template } = synthStack();
const { template: tuned } = synthStack({ checker: tunedCheckerProps });

describe('schedule', () => {
  it('runs the job every 10 minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
    });
  });

  it('retries delivering a tick twice within one period, then dead-letters it to an encrypted TLS-only queue', () => {
    const deadLetterQueue = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterQueue, 'Arn'] } },
        }),
      ],
    });
    const queues = template.findResources('AWS::SQS::Queue');
    expect(queues[deadLetterQueue.asString()]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: deadLetterQueue.asString() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('retries a failed invocation at most twice within one period, then sends it to the on-failure queue', () => {
    const onFailureQueue = new Capture();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [onFailureQueue, 'Arn'] } } },
    });
    const queues = template.findResources('AWS::SQS::Queue');
    expect(queues[onFailureQueue.asString()]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: onFailureQueue.asString() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('caps the event age at 15 minutes for long schedules', () => {
    tuned.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 900 });
    tuned.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 900 }) })],
    });
  });

  it('disables the rule and removes nothing when the kill switch is off', () => {
    const { template: paused } = synthStack({ checker: { enabled: false } });

    const checkerRules = (t: Template) =>
      Object.values(ofWorker(t.findResources('AWS::Events::Rule'), checkerId));
    expect(checkerRules(paused)).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ State: 'DISABLED' }) }),
    ]);
    for (const type of ['AWS::Lambda::Function', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue']) {
      expect(Object.keys(paused.findResources(type))).toEqual(Object.keys(template.findResources(type)));
    }
    paused.resourceCountIs('AWS::DynamoDB::Table', 2);
  });
});

describe('users table', () => {
  it('indexes active users by shard and last login, projecting the keys and the schema flags only', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: usersTable.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: usersTable.staleIndex.name,
          KeySchema: [
            { AttributeName: 'activeShard', KeyType: 'HASH' },
            { AttributeName: 'lastLoginAt', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: [...usersTable.staleIndex.projectedAttributes],
          },
        },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'activeShard', AttributeType: 'S' },
        { AttributeName: 'lastLoginAt', AttributeType: 'S' },
      ]),
    });
    expect(usersTable.staleIndex.projectedAttributes).toContain('neverPassivate');
  });

  it('bills on demand, keeps point-in-time recovery and survives stack deletion', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: usersTable.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('adopts an existing users table by name instead of creating one', () => {
    const { template: adopted } = synthStack({ usersTable: { existingTableName: 'app-users' } });

    adopted.resourceCountIs('AWS::DynamoDB::Table', 1);
    adopted.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [envNames.usersTableName]: 'app-users' }) },
    });
    adopted.hasOutput('UsersTableName', { Value: 'app-users' });
  });
});

describe('lock table', () => {
  it('keys locks by name, expires them through the TTL attribute and is dropped with the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: lockTable.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: lockTable.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: Match.absent(),
      }),
      DeletionPolicy: 'Delete',
    });
  });
});

describe('function', () => {
  it('runs on Node.js 24 on arm64 with a 4-minute timeout and 512 MB', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 240,
      MemorySize: 512,
      Handler: 'index.handler',
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: Match.absent(),
    });
  });

  it('passes every setting through the environment, with a lease 30 s longer than the timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [envNames.usersTableName]: { Ref: Match.stringLikeRegexp('^UsersTable') },
          [envNames.lockTableName]: { Ref: Match.stringLikeRegexp('^LeaseLockTable') },
          [envNames.lockName]: 'passive-user-checker',
          [envNames.inactiveDays]: '30',
          [envNames.activeShards]: '16',
          [envNames.leaseSeconds]: '270',
          [envNames.updateConcurrency]: '16',
          [envNames.dryRun]: 'false',
          [envNames.maxPassivationsPerRun]: '10000',
          [envNames.breakerMaxStale]: '50000',
          [envNames.breakerMaxStalePercent]: '25',
          [envNames.breakerMinStale]: '100',
          [envNames.breakerWindowHours]: '24',
          [envNames.warningDays]: '0',
          [envNames.eventBusName]: 'default',
          POWERTOOLS_SERVICE_NAME: serviceName,
          POWERTOOLS_METRICS_NAMESPACE: defaultMetricsNamespace,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('derives the lease from a custom timeout and passes custom job settings', () => {
    tuned.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 180,
      MemorySize: 1024,
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          [envNames.leaseSeconds]: '210',
          [envNames.inactiveDays]: '90',
          [envNames.activeShards]: '4',
          [envNames.dryRun]: 'true',
          [envNames.lockName]: 'nightly',
          [envNames.breakerWindowHours]: '72',
        }),
      },
    });
  });

  it('publishes no events and sets no bus when publishEvents is off', () => {
    tuned.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [envNames.eventBusName]: Match.absent() }) },
    });
  });

  it('writes to its own log group, kept for one month by default', () => {
    const checkerFunctions = Object.values(
      ofWorker(template.findResources('AWS::Lambda::Function'), checkerId),
    );
    const checkerLogGroups = ofWorker(template.findResources('AWS::Logs::LogGroup'), checkerId);

    expect(checkerFunctions).toHaveLength(1);
    expect(Object.keys(checkerLogGroups)).toEqual([
      checkerFunctions[0]?.Properties?.LoggingConfig?.LogGroup?.Ref,
    ]);
    expect(Object.values(checkerLogGroups)[0]).toMatchObject({
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
    });
  });

  it('keeps logs as long as asked', () => {
    tuned.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

describe('outputs', () => {
  it('names the tables, function, log group, dashboard and queues for the scripts and the operator', () => {
    for (const name of [
      'UsersTableName',
      'LockTableName',
      'FunctionName',
      'LogGroupName',
      'DashboardUrl',
      'DeadLetterQueueUrl',
      'OnFailureQueueUrl',
    ]) {
      template.hasOutput(name, { Value: Match.anyValue() });
    }
    template.hasOutput('LogGroupName', { Value: { Ref: Match.stringLikeRegexp('LogGroup') } });
  });
});

describe('local invoke with SAM', () => {
  const example = JSON.parse(
    readFileSync(new URL('../../events/sam-env.example.json', import.meta.url), 'utf8'),
  ) as Record<string, Record<string, string>>;
  const [logicalId, variables] = Object.entries(example)[0] ?? ['', {}];
  const declaredVariables = (t: Template) =>
    Object.keys(
      t.findResources('AWS::Lambda::Function')[logicalId]?.Properties?.Environment?.Variables ?? {},
    );

  it('declares no endpoint variable in the template meant for deployment', () => {
    expect(declaredVariables(template)).toContain(envNames.usersTableName);
    expect(declaredVariables(template)).not.toContain(dynamoDbEndpointVariable);
  });

  it('names in events/sam-env.example.json the function and variables a samLocalEndpoint synth declares', () => {
    const stack = new PassiveUsersStack(appWithoutBundling(), 'PassiveUsersStack');
    pointAtLocalEngine(stack, 'http://host.docker.internal:8000');
    const local = Template.fromStack(stack);

    // SAM's --env-vars only overrides variables the template declares: every one in the example must be there.
    expect(declaredVariables(local)).toEqual(expect.arrayContaining(Object.keys(variables)));
    expect(
      Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('do not deploy')),
    ).toHaveLength(1);
  });

  it('rejects a samLocalEndpoint that is not an http(s) URL, naming the context key', () => {
    const stack = new PassiveUsersStack(appWithoutBundling(), 'PassiveUsersStack');
    expect(() => pointAtLocalEngine(stack, 'localhost:8000')).toThrow(/samLocalEndpoint/);
  });
});
