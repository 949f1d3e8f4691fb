import { readFileSync } from 'node:fs';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PassiveUsersStack, type PassiveUsersStackProps } from '../../infra/passive-users-stack';

interface CdkJson {
  readonly context: Record<string, unknown>;
}

/** The feature flags `cdk synth` runs with, so the tests see the same template. */
export const cdkJsonContext: Record<string, unknown> = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as CdkJson
).context;

/**
 * An app with cdk.json's context and asset bundling switched off (bundling is not under test here). CDK's built-in
 * CloudFormation validation would run on every `Template.fromStack` and cost seconds each time, so it is off in
 * the tests; `npm run synth` runs it (and fails on its errors, per cdk.json's validateAgainstDefaultRules).
 */
export function appWithoutBundling(props: { outdir?: string } = {}): App {
  return new App({
    builtinCloudFormationValidation: false,
    ...props,
    context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] },
  });
}

export function synthStack(props: PassiveUsersStackProps = {}): {
  stack: PassiveUsersStack;
  template: Template;
} {
  const stack = new PassiveUsersStack(appWithoutBundling(), 'PassiveUsersStack', props);
  return { stack, template: Template.fromStack(stack) };
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | readonly string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/**
 * The default stack's checker and report are named by their construct ids, which prefix the logical ids of their
 * resources: `ofWorker(t.findResources(…), checkerId)` keeps one worker's.
 */
export const checkerId = 'PassiveUserChecker';
export const reportId = 'ActivityReport';

export function ofWorker<T>(resources: Record<string, T>, workerId: string): Record<string, T> {
  return Object.fromEntries(
    Object.entries(resources).filter(([logicalId]) => logicalId.startsWith(workerId)),
  );
}

/** Every statement of every identity policy (AWS::IAM::Policy) in the template, or of one worker's. */
export function identityStatements(template: Template, workerId?: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(workerId === undefined ? policies : ofWorker(policies, workerId)).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }).Properties
        .PolicyDocument.Statement,
  );
}

export const asList = (value: string | readonly string[]): readonly string[] =>
  typeof value === 'string' ? [value] : value;

/**
 * One stack with every job setting moved off its default, shared by the tests of non-default behaviour so each
 * file synthesizes a handful of stacks, not one per test.
 */
export const tunedCheckerProps = {
  schedule: Schedule.rate(Duration.hours(1)),
  timeout: Duration.minutes(3),
  inactiveDays: 90,
  activeShards: 4,
  dryRun: true,
  memorySize: 1024,
  reservedConcurrentExecutions: 1,
  lockName: 'nightly',
  logRetention: RetentionDays.ONE_YEAR,
  publishEvents: false,
  metricsNamespace: 'PassiveUserChecker/staging',
  breakerWindowHours: 72,
  incompleteRunsWindow: Duration.hours(48),
} satisfies PassiveUsersStackProps['checker'];
