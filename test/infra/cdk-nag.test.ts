import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { appWithoutBundling } from './support';

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity: string }[];
  }[];
}

const outdir = mkdtempSync(path.join(tmpdir(), 'passive-users-nag-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cdk-nag', () => {
  it('finds no unacknowledged AwsSolutions or Serverless error or warning', () => {
    // cdk-nag 3 runs as a CDK policy-validation plugin: errors fail app.synth(), warnings only reach the
    // validation report, so the report must be empty. (CDK's built-in CloudFormation validation, several seconds,
    // is left to `npm run synth`.)
    const app = appWithoutBundling({ outdir });
    new PassiveUsersStack(app, 'PassiveUsersStack');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

    const assembly = app.synth();

    const report = JSON.parse(
      readFileSync(path.join(assembly.directory, VALIDATION_REPORT_FILE), 'utf8'),
    ) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map(
        (violation) => `${plugin.pluginName}: ${violation.ruleName} (${violation.severity})`,
      ),
    );
    expect(findings).toEqual([]);
  });

  it('fails the synth on a resource that breaks a rule, so a clean report means something', () => {
    const app = appWithoutBundling({ outdir: mkdtempSync(path.join(outdir, 'bad-')) });
    const stack = new PassiveUsersStack(app, 'PassiveUsersStack');
    new Queue(stack, 'PlainHttpQueue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
