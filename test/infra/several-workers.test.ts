import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Code } from 'aws-cdk-lib/aws-lambda';
import type { App } from 'aws-cdk-lib/core';
import { describe, expect, it } from 'vitest';
import { PeriodicWorker, type PeriodicWorkerProps } from '../../infra/constructs/periodic-worker';
import { appWithoutBundling } from './support';

/** A stack with a lock table and one worker per name, each on `rate(1 hour)` with prebuilt code. */
function stackWithWorkers(
  app: App,
  stackName: string,
  workerNames: readonly string[],
  props: Partial<PeriodicWorkerProps> = {},
) {
  const stack = new Stack(app, stackName);
  const lockTable = new Table(stack, 'Locks', {
    partitionKey: { name: 'lockName', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
  });
  const workers = workerNames.map(
    (workerName) =>
      new PeriodicWorker(stack, workerName, {
        code: Code.fromInline('exports.handler = async () => ({});'),
        workerName,
        schedule: Schedule.rate(Duration.hours(1)),
        lockTable,
        ...props,
      }),
  );
  return { stack, workers, template: () => Template.fromStack(stack) };
}

/** The namespaces of the workers' own metrics (not Lambda's or SQS's), in the functions and the alarms. */
const namespacesOf = (template: Template): string[] => [
  ...new Set([
    ...Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) =>
        (fn as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment
          .Variables.POWERTOOLS_METRICS_NAMESPACE ?? '',
    ),
    ...Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => (alarm as { Properties: { Namespace?: string } }).Properties.Namespace)
      .filter((namespace): namespace is string => namespace !== undefined && !namespace.startsWith('AWS/')),
  ]),
];

describe('several workers in one app', () => {
  it('puts every worker of a stack on one dashboard by default, each with its own section', () => {
    const { template } = stackWithWorkers(appWithoutBundling(), 'Workers', ['digest', 'reconcile']);

    const dashboards = Object.values(template().findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]);
    expect(body).toContain('service `digest`');
    expect(body).toContain('service `reconcile`');
  });

  it("links each worker to its stack's one dashboard", () => {
    const { stack, workers } = stackWithWorkers(appWithoutBundling(), 'Workers', ['digest', 'reconcile']);

    const [first, second] = workers;
    expect(first?.monitoring.dashboard).toBe(second?.monitoring.dashboard);
    expect(stack.resolve(first?.monitoring.dashboardUrl)).toEqual(
      stack.resolve(second?.monitoring.dashboardUrl),
    );
  });

  it("gives each stack's workers a metrics namespace of the stack's own by default, in the function and its alarms", () => {
    const app = appWithoutBundling();
    const staging = stackWithWorkers(app, 'SessionsStaging', ['purge-expired-sessions']);
    const production = stackWithWorkers(app, 'SessionsProduction', ['purge-expired-sessions']);

    expect(namespacesOf(staging.template())).toEqual(['PeriodicWorkers/SessionsStaging']);
    expect(namespacesOf(production.template())).toEqual(['PeriodicWorkers/SessionsProduction']);
  });

  it('keeps a metrics namespace given as a prop', () => {
    const { template } = stackWithWorkers(appWithoutBundling(), 'Workers', ['digest'], {
      metricsNamespace: 'Sessions',
    });

    expect(namespacesOf(template())).toEqual(['Sessions']);
  });
});
