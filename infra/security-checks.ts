import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * The rule packs every synth of the app runs (cdk-nag 3, as CDK policy-validation plugins): AwsSolutions and
 * Serverless. Errors fail the synth; warnings land in the validation report. Shared by `app.ts` and its test, so
 * the test checks what `cdk synth` checks.
 */
export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
