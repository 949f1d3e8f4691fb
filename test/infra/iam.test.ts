import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { eventDetailTypes, eventSource } from '../../functions/passive-user-checker/event-publisher';
import { usersTable } from '../../functions/shared/users-table-schema';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import {
  appWithoutBundling,
  asList,
  checkerId,
  identityStatements,
  synthStack,
  tunedCheckerProps,
} from './support';

const { template } = synthStack();
const { template: tuned } = synthStack({ checker: tunedCheckerProps });
const statements = identityStatements(template);
const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
const usersTableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^UsersTable'), 'Arn'] };

describe('function role', () => {
  it('grants exactly the actions the worker uses, and nothing else', () => {
    const actions = [
      ...new Set(identityStatements(template, checkerId).flatMap((statement) => asList(statement.Action))),
    ].sort();

    expect(actions).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
  });

  it('has no managed policy, no wildcard action or resource and never Scan', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of asList(statement.Action)) {
        expect(action).not.toContain('*');
        expect(action).not.toBe('dynamodb:Scan');
      }
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
  });

  it('queries the stale index only, never the table', () => {
    expect(bySid('QueryStaleIndex')).toEqual({
      Sid: 'QueryStaleIndex',
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: {
        'Fn::Join': [
          '',
          [
            expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^UsersTable/), 'Arn'] }),
            `/index/${usersTable.staleIndex.name}`,
          ],
        ],
      },
    });
  });

  it('updates users only through the attributes the worker touches, returning nothing', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PassivateStaleUsers',
            Effect: 'Allow',
            Action: 'dynamodb:UpdateItem',
            Resource: usersTableArn,
            Condition: {
              'ForAllValues:StringEquals': {
                'dynamodb:Attributes': [
                  'userId',
                  'status',
                  'lastLoginAt',
                  'activeShard',
                  'passivatedAt',
                  'neverPassivate',
                  'inactivityWarnedAt',
                ],
              },
              Null: { 'dynamodb:Attributes': 'false' },
              StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
            },
          },
        ]),
      },
    });
  });

  it('touches only its own lock item, run history and breaker item in the lock table', () => {
    const lockTableArn = { 'Fn::GetAtt': [expect.stringMatching(/^LeaseLockTable/), 'Arn'] };
    const checkerStatement = (sid: string) =>
      identityStatements(template, checkerId).find((statement) => statement.Sid === sid);

    expect(checkerStatement('HoldLeaseLock')).toEqual({
      Sid: 'HoldLeaseLock',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: lockTableArn,
      Condition: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['passive-user-checker'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(checkerStatement('RecordRunHistory')).toEqual({
      Sid: 'RecordRunHistory',
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: lockTableArn,
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['passive-user-checker#run#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(checkerStatement('WriteBreakerState')).toEqual({
      Sid: 'WriteBreakerState',
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: lockTableArn,
      Condition: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['passive-user-checker#breaker'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
  });

  it('reads only its own lock item and last-run item in the lock table, for the breaker state', () => {
    expect(bySid('ReadBreakerState')).toEqual({
      Sid: 'ReadBreakerState',
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LeaseLockTable/), 'Arn'] },
      Condition: {
        'ForAllValues:StringEquals': {
          'dynamodb:LeadingKeys': ['passive-user-checker#breaker'],
        },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
  });

  it('reads users in batches only through the attributes the worker touches, on the table only', () => {
    expect(bySid('CheckUserStatus')).toEqual({
      Sid: 'CheckUserStatus',
      Effect: 'Allow',
      Action: 'dynamodb:BatchGetItem',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^UsersTable/), 'Arn'] },
      Condition: {
        'ForAllValues:StringEquals': {
          'dynamodb:Attributes': [
            'userId',
            'status',
            'lastLoginAt',
            'activeShard',
            'passivatedAt',
            'neverPassivate',
            'inactivityWarnedAt',
          ],
        },
        Null: { 'dynamodb:Attributes': 'false' },
      },
    });
  });

  it('scopes the lock keys to a custom lock name', () => {
    expect(bySidIn(tuned, 'HoldLeaseLock')?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'dynamodb:LeadingKeys': ['nightly'],
    });
    expect(bySidIn(tuned, 'RecordRunHistory')?.Condition?.['ForAllValues:StringLike']).toEqual({
      'dynamodb:LeadingKeys': ['nightly#run#*'],
    });
    expect(bySidIn(tuned, 'WriteBreakerState')?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'dynamodb:LeadingKeys': ['nightly#breaker'],
    });
    expect(bySidIn(tuned, 'ReadBreakerState')?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'dynamodb:LeadingKeys': ['nightly#breaker'],
    });
  });

  it("publishes only the job's own events, to the default bus only", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PublishUserEvents',
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':event-bus/default$')])],
            },
            Condition: {
              'ForAllValues:StringEquals': {
                'events:source': [eventSource],
                'events:detail-type': Object.values(eventDetailTypes),
              },
              Null: { 'events:source': 'false', 'events:detail-type': 'false' },
            },
          },
        ]),
      },
    });
  });

  it('grants PutEvents on a given bus instead of the default one', () => {
    const app = appWithoutBundling();
    const busStack = new Stack(app, 'Bus');
    const bus = new EventBus(busStack, 'DomainBus');
    const stack = new PassiveUsersStack(app, 'PassiveUsersStack', { checker: { eventBus: bus } });
    const custom = Template.fromStack(stack);

    const publish = bySidIn(custom, 'PublishUserEvents');
    expect(JSON.stringify(publish?.Resource)).toContain('DomainBus');
    expect(JSON.stringify(publish?.Resource)).not.toContain('event-bus/default');
  });

  it('grants no PutEvents at all when publishing is off', () => {
    const actions = identityStatements(tuned).flatMap((statement) => asList(statement.Action));
    expect(actions).not.toContain('events:PutEvents');
  });
});

function bySidIn(t: Template, sid: string) {
  return identityStatements(t, checkerId).find((statement) => statement.Sid === sid);
}
