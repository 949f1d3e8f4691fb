/**
 * The checker's function as `cdk synth` builds it: the bundled asset directory, the entry file and export its
 * `Handler` names, and the environment the template gives it, read from the synthesized template rather than
 * restated here. Table names are tokens there (`Ref`s to the stack's tables); they are resolved to local tables
 * through the stack's own outputs (`UsersTableName`, `LockTableName`), so any other token is an error, not a guess.
 * The one other token allowed is the ARN of one of the stack's own state machines (`PARTITIONS_STATE_MACHINE_ARN`
 * with partitions on: a `Fn::Join` of the partition, region and account around the machine's fixed name), resolved
 * to a local ARN of that name.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The stack's outputs that name the checker's function and the tables its environment refers to. */
export const stackOutputs = {
  functionName: 'FunctionName',
  usersTableName: 'UsersTableName',
  lockTableName: 'LockTableName',
} as const;

export type TableRole = 'users' | 'lock';

/**
 * An environment value in the template: a literal, a reference to one of the stack's tables, or the ARN of one of
 * its state machines (by name).
 */
export type TemplateEnvValue = string | { readonly table: TableRole } | { readonly stateMachine: string };

/** The region and account a state machine's ARN is resolved with locally (the region the child runs in). */
export const localArnParts = { partition: 'aws', region: 'us-east-1', account: '000000000000' } as const;

/** The local ARN of the stack's state machine `name`: what `PARTITIONS_STATE_MACHINE_ARN` is set to. */
export const localStateMachineArn = (name: string): string =>
  `arn:${localArnParts.partition}:states:${localArnParts.region}:${localArnParts.account}:stateMachine:${name}`;

export interface DeployedFunction {
  readonly logicalId: string;
  /** The asset directory `cdk synth` wrote (`cdk.out/asset.<hash>`). */
  readonly assetDir: string;
  /** The file Lambda loads for `Handler` (`index.handler` → `index.mjs` or `index.js`) and the export it calls. */
  readonly entryFile: string;
  readonly exportName: string;
  readonly entryBytes: number;
  /** sha256 of the entry file: what was measured, byte for byte. */
  readonly entrySha256: string;
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Every variable the template sets, table references kept symbolic. */
  readonly environment: Readonly<Record<string, TemplateEnvValue>>;
}

export class DeployedAssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployedAssetError';
  }
}

export interface CfnResource {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value?: unknown }>;
}

export interface SynthesizedStack {
  readonly outdir: string;
  readonly checker: DeployedFunction;
  /** Seconds `cdk synth` took. */
  readonly synthSeconds: number;
  remove(): void;
}

export interface SynthOptions {
  /** The project tree to synthesize (default: this working tree). */
  readonly sourceDir?: string | undefined;
  readonly stackName?: string;
  /** The CDK app to run instead of cdk.json's (`cdk synth --app "<command>"`), e.g. `npx tsx bench/partitioned-app.ts`. */
  readonly app?: string;
}

/**
 * Runs `cdk synth` (the project's own app, cdk.json and context, bundling included) into a temporary directory,
 * as `npx cdk synth` would.
 */
export function synthesizeStack(options: SynthOptions = {}): SynthesizedStack {
  const stackName = options.stackName ?? 'PassiveUsersStack';
  const outdir = mkdtempSync(join(tmpdir(), 'passive-user-checker-deployed-'));
  const started = Date.now();
  const cdk = join(repoRoot, 'node_modules', '.bin', 'cdk');
  const app = options.app === undefined ? [] : ['--app', options.app];
  const result = spawnSync(cdk, ['synth', '--quiet', ...app, '-o', outdir, stackName], {
    cwd: options.sourceDir ?? repoRoot,
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (result.status !== 0) {
    rmSync(outdir, { recursive: true, force: true });
    throw new DeployedAssetError(`cdk synth failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  const template = JSON.parse(
    readFileSync(join(outdir, `${stackName}.template.json`), 'utf8'),
  ) as CfnTemplate;
  return {
    outdir,
    checker: checkerFunction(template, outdir),
    synthSeconds: (Date.now() - started) / 1000,
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * The project as committed at `ref` (`git archive`), with this tree's node_modules linked in: a benchmark can
 * measure a commit while the working tree is being edited.
 */
export function exportTree(ref: string): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'passive-user-checker-tree-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const archive = spawnSync('sh', ['-c', `git archive --format=tar "$1" | tar -x -C "$2"`, 'sh', ref, dir], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (archive.status !== 0) {
    remove();
    throw new DeployedAssetError(`git archive ${ref} failed: ${archive.stderr}`);
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove };
}

/** The function the stack's `FunctionName` output names (the checker, not the activity report). */
export function checkerFunction(template: CfnTemplate, outdir: string): DeployedFunction {
  const logicalId = refOf(template.Outputs?.[stackOutputs.functionName]?.Value);
  const resource = logicalId === undefined ? undefined : template.Resources[logicalId];
  if (logicalId === undefined || resource?.Type !== 'AWS::Lambda::Function') {
    throw new DeployedAssetError(`output ${stackOutputs.functionName} does not name a Lambda function`);
  }
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') {
    throw new DeployedAssetError(`${logicalId} has no bundled asset (aws:asset:path)`);
  }
  const properties = resource.Properties ?? {};
  const handler = String(properties.Handler ?? '');
  const dot = handler.lastIndexOf('.');
  const assetDir = join(outdir, assetPath);
  const base = handler.slice(0, dot);
  const entryFile = ['.mjs', '.js', '.cjs']
    .map((extension) => join(assetDir, `${base}${extension}`))
    .find((file) => existsSync(file));
  if (dot < 1 || entryFile === undefined) {
    throw new DeployedAssetError(`${logicalId}: no file for Handler "${handler}" in ${assetDir}`);
  }
  const tableRoles = new Map<string, TableRole>();
  for (const [output, role] of [
    [stackOutputs.usersTableName, 'users'],
    [stackOutputs.lockTableName, 'lock'],
  ] as const) {
    const id = refOf(template.Outputs?.[output]?.Value);
    if (id !== undefined) tableRoles.set(id, role);
  }
  const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables ?? {}) as Record<string, unknown>;
  const environment: Record<string, TemplateEnvValue> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === 'string') {
      environment[name] = value;
      continue;
    }
    const role = tableRoles.get(refOf(value) ?? '');
    const stateMachine = role === undefined ? stateMachineNameOf(template, value) : undefined;
    if (role === undefined && stateMachine === undefined) {
      throw new DeployedAssetError(
        `${logicalId}: ${name} is ${JSON.stringify(value)}, neither a literal nor one of the stack's tables ` +
          'or state machines',
      );
    }
    environment[name] = role === undefined ? { stateMachine: stateMachine as string } : { table: role };
  }
  const bytes = readFileSync(entryFile);
  return {
    logicalId,
    assetDir,
    entryFile,
    exportName: handler.slice(dot + 1),
    entryBytes: statSync(entryFile).size,
    entrySha256: createHash('sha256').update(bytes).digest('hex'),
    runtime: String(properties.Runtime ?? ''),
    memorySize: Number(properties.MemorySize ?? 128),
    timeoutSeconds: Number(properties.Timeout ?? 3),
    environment,
  };
}

/** The pseudo parameters a state machine's ARN is built from, as resolved locally. */
const pseudoParameters: Readonly<Record<string, string>> = {
  'AWS::Partition': localArnParts.partition,
  'AWS::Region': localArnParts.region,
  'AWS::AccountId': localArnParts.account,
};

/**
 * The name of the stack's state machine whose ARN `value` is: a `Fn::Join` with "" of literals and the pseudo
 * parameters above that makes `arn:…:states:…:stateMachine:<name>`, where `<name>` is the `StateMachineName` of an
 * `AWS::StepFunctions::StateMachine` of the template. Anything else: undefined.
 */
export function stateMachineNameOf(template: CfnTemplate, value: unknown): string | undefined {
  const join = (value as { 'Fn::Join'?: unknown } | null)?.['Fn::Join'];
  if (!Array.isArray(join) || join.length !== 2 || join[0] !== '' || !Array.isArray(join[1]))
    return undefined;
  let text = '';
  for (const part of join[1] as unknown[]) {
    const resolved = typeof part === 'string' ? part : pseudoParameters[refOf(part) ?? ''];
    if (resolved === undefined) return undefined;
    text += resolved;
  }
  const prefix = `arn:${localArnParts.partition}:states:${localArnParts.region}:${localArnParts.account}:stateMachine:`;
  if (!text.startsWith(prefix)) return undefined;
  const name = text.slice(prefix.length);
  const declared = Object.values(template.Resources).some(
    (resource) =>
      resource.Type === 'AWS::StepFunctions::StateMachine' && resource.Properties?.StateMachineName === name,
  );
  return declared ? name : undefined;
}

function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/** The template's environment with the tables resolved to local ones and `overrides` applied (undefined: unset). */
export function resolveEnvironment(
  fn: DeployedFunction,
  tables: { readonly usersTableName: string; readonly lockTableName: string },
  overrides: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    env[name] =
      typeof value === 'string'
        ? value
        : 'stateMachine' in value
          ? localStateMachineArn(value.stateMachine)
          : value.table === 'users'
            ? tables.usersTableName
            : tables.lockTableName;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
