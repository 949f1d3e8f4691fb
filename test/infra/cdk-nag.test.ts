import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { afterAll, describe, expect, it } from 'vitest';
import { PassiveUsersStack, type PassiveUsersStackProps } from '../../infra/passive-users-stack';
import { addSecurityChecks } from '../../infra/security-checks';
import { appWithoutBundling, tunedCheckerProps } from './support';

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity: string }[];
  }[];
}

const outdir = mkdtempSync(path.join(tmpdir(), 'passive-users-nag-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * Synthesizes the stack with the app's own checks and returns every finding. cdk-nag 3 runs as a CDK
 * policy-validation plugin: errors fail app.synth(), warnings only reach the validation report, so the report
 * must be empty. (CDK's built-in CloudFormation validation, several seconds, is left to `npm run synth`.)
 */
function findings(props: PassiveUsersStackProps, name: string): string[] {
  const app = appWithoutBundling({ outdir: mkdtempSync(path.join(outdir, `${name}-`)) });
  new PassiveUsersStack(app, 'PassiveUsersStack', props);
  addSecurityChecks(app);

  const assembly = app.synth();

  const report = JSON.parse(
    readFileSync(path.join(assembly.directory, VALIDATION_REPORT_FILE), 'utf8'),
  ) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (violation) => `${plugin.pluginName}: ${violation.ruleName} (${violation.severity})`,
    ),
  );
}

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions or Serverless error or warning', () => {
    expect(findings({}, 'default')).toEqual([]);
  });

  it('finds none either with every job setting off its default, events and warnings on, and an adopted table', () => {
    const props: PassiveUsersStackProps = {
      usersTable: { existingTableName: 'AppUsers' },
      checker: { ...tunedCheckerProps, publishEvents: true, warningDays: 7 },
    };

    expect(findings(props, 'tuned')).toEqual([]);
  });

  it('finds none either with the report on a weekday cron, or without the report', () => {
    const weekdays: PassiveUsersStackProps = {
      activityReport: {
        schedule: Schedule.expression('cron(0/30 8-17 ? * MON-FRI *)'),
        timeout: Duration.minutes(2),
      },
    };

    expect(findings(weekdays, 'weekdays')).toEqual([]);
    expect(findings({ activityReport: false }, 'checker-only')).toEqual([]);
  });

  it('fails the synth on a resource that breaks a rule, so a clean report means something', () => {
    const app = appWithoutBundling({ outdir: mkdtempSync(path.join(outdir, 'bad-')) });
    const stack = new PassiveUsersStack(app, 'PassiveUsersStack');
    new Queue(stack, 'PlainHttpQueue');
    addSecurityChecks(app);

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
