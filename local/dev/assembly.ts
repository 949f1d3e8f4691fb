/**
 * Reads a synthesized CDK app (cdk.out): its stacks' templates, the DynamoDB tables they declare, and every
 * function a `PeriodicWorker` (or `PassiveUserChecker`) made, found by the metadata the construct writes
 * (infra/constructs/worker-metadata.ts), with its bundle directory and its environment as the template sets it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type WorkerMetadata, workerMetadataKey } from '../../infra/constructs/worker-metadata';

/** A dev-runner problem the user can fix: one line, with the fix. */
export class DevRunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevRunnerError';
  }
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** One DynamoDB table of the app, under the name the runner gives it locally. */
export interface AppTable {
  readonly stack: string;
  readonly logicalId: string;
  /** The construct's path without the stack and `/Resource` (`Sessions`), when the template has it. */
  readonly constructPath: string | undefined;
  /** The table's `TableName` when literal, else its construct path joined by `-`, else its logical id. */
  readonly localName: string;
  readonly properties: Record<string, unknown>;
}

/** One worker function of the app, ready to run. */
export interface AppWorker {
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly lockName: string;
  readonly schedule: string;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** The file holding the handler, in the function's asset directory. */
  readonly handlerFile: string;
  readonly handlerExport: string;
  /** The function's variables with every table reference resolved to its local name. */
  readonly environment: Readonly<Record<string, string>>;
  /** The variables that name one of the app's tables (a `Ref` or `Fn::GetAtt` resolved to the local table). */
  readonly tableVariables: readonly string[];
  /** Variables the runner could not resolve (a reference to a resource it does not create): left unset. */
  readonly unresolved: readonly string[];
  /** The state machine that runs the worker's partitions (its local ARN), and its Map's concurrency. */
  readonly partitions?: { readonly stateMachineArn: string; readonly maxConcurrency: number } | undefined;
}

export interface AppAssembly {
  readonly tables: readonly AppTable[];
  readonly workers: readonly AppWorker[];
}

interface StackTemplate {
  readonly name: string;
  readonly dir: string;
  readonly resources: Record<string, TemplateResource>;
  readonly assets: Record<string, string>;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DevRunnerError(
      `cannot read ${file} (${error instanceof Error ? error.message : String(error)}): run cdk synth again`,
    );
  }
}

/** Every stack template of the assembly, nested stages included. */
function stackTemplates(dir: string): StackTemplate[] {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    throw new DevRunnerError(
      `${dir} is not a cloud assembly (no manifest.json): run cdk synth, or drop --cdk-out`,
    );
  }
  const manifest = readJson(manifestFile) as {
    artifacts?: Record<
      string,
      { type: string; properties?: { templateFile?: string; directoryName?: string; file?: string } }
    >;
  };
  const stacks: StackTemplate[] = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      const template = readJson(path.join(dir, artifact.properties.templateFile)) as {
        Resources?: Record<string, TemplateResource>;
      };
      stacks.push({
        name,
        dir,
        resources: template.Resources ?? {},
        assets: assetDirectories(dir, manifest.artifacts ?? {}),
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      stacks.push(...stackTemplates(path.join(dir, artifact.properties.directoryName)));
    }
  }
  return stacks;
}

/** Asset hash → directory, from the asset manifests (for templates synthesized without asset metadata). */
function assetDirectories(
  dir: string,
  artifacts: Record<string, { type: string; properties?: { file?: string } }>,
): Record<string, string> {
  const directories: Record<string, string> = {};
  for (const artifact of Object.values(artifacts)) {
    if (artifact.type !== 'cdk:asset-manifest' || !artifact.properties?.file) continue;
    const assets = readJson(path.join(dir, artifact.properties.file)) as {
      files?: Record<string, { source?: { path?: string; packaging?: string } }>;
    };
    for (const [hash, asset] of Object.entries(assets.files ?? {})) {
      if (asset.source?.path && asset.source.packaging === 'zip') directories[hash] = asset.source.path;
    }
  }
  return directories;
}

const tableTypes = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'];

/** Reads the app's tables and workers from a cloud assembly directory. */
export function readAssembly(dir: string): AppAssembly {
  const stacks = stackTemplates(dir);
  const tables: AppTable[] = [];
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(stack.resources)) {
      if (!tableTypes.includes(resource.Type)) continue;
      const properties = resource.Properties ?? {};
      const cdkPath = resource.Metadata?.['aws:cdk:path'];
      const constructPath =
        typeof cdkPath === 'string'
          ? cdkPath
              .split('/')
              .slice(1)
              .filter((part) => part !== 'Resource')
              // A construct that wraps its table as `Table` (UsersTable, LeaseLockTable) is named by the wrapper.
              .filter((part, i, parts) => !(part === 'Table' && i === parts.length - 1 && i > 0))
              .join('/')
          : undefined;
      const literal = typeof properties.TableName === 'string' ? properties.TableName : undefined;
      const localName = literal ?? (constructPath ? constructPath.replaceAll('/', '-') : logicalId);
      tables.push({ stack: stack.name, logicalId, constructPath, localName, properties });
    }
  }
  // Two stacks with a table of the same construct path: qualify both with their stack.
  const counts = new Map<string, number>();
  for (const table of tables) counts.set(table.localName, (counts.get(table.localName) ?? 0) + 1);
  const unique = tables.map((table) =>
    (counts.get(table.localName) ?? 0) > 1
      ? { ...table, localName: `${table.stack}-${table.localName}` }
      : table,
  );

  const workers: AppWorker[] = [];
  for (const stack of stacks) {
    const own = unique.filter((table) => table.stack === stack.name);
    for (const [logicalId, resource] of Object.entries(stack.resources)) {
      const metadata = resource.Metadata?.[workerMetadataKey] as WorkerMetadata | undefined;
      if (resource.Type !== 'AWS::Lambda::Function' || metadata === undefined) continue;
      workers.push(appWorker(stack, logicalId, resource, metadata, own));
    }
  }
  return { tables: unique, workers };
}

function appWorker(
  stack: StackTemplate,
  logicalId: string,
  resource: TemplateResource,
  metadata: WorkerMetadata,
  tables: readonly AppTable[],
): AppWorker {
  const properties = resource.Properties ?? {};
  const assetPath = resource.Metadata?.['aws:asset:path'];
  const s3Key = (properties.Code as { S3Key?: unknown } | undefined)?.S3Key;
  const hash = typeof s3Key === 'string' ? s3Key.replace(/\.zip$/, '') : undefined;
  const relative = typeof assetPath === 'string' ? assetPath : hash ? stack.assets[hash] : undefined;
  if (relative === undefined) {
    throw new DevRunnerError(
      `${metadata.workerName}: its function has no code asset in ${stack.dir} (inline or S3 code cannot run locally): give it entry or Code.fromAsset`,
    );
  }
  const assetDir = path.resolve(stack.dir, relative);
  const handler = typeof properties.Handler === 'string' ? properties.Handler : 'index.handler';
  const dot = handler.lastIndexOf('.');
  const moduleName = handler.slice(0, dot);
  const handlerFile = ['.mjs', '.js', '.cjs']
    .map((extension) => path.join(assetDir, `${moduleName}${extension}`))
    .find((file) => existsSync(file));
  if (handlerFile === undefined) {
    throw new DevRunnerError(
      `${metadata.workerName}: no ${moduleName}.mjs, .js or .cjs in ${assetDir} (handler ${handler}): build the bundle, then run cdk synth again`,
    );
  }

  const environment: Record<string, string> = {};
  const unresolved: string[] = [];
  const tableVariables: string[] = [];
  const variables =
    (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  for (const [name, value] of Object.entries(variables)) {
    const resolved = resolveValue(value, stack.resources, tables);
    if (resolved === undefined) unresolved.push(`${name} (${describeReference(value, stack.resources)})`);
    else {
      environment[name] = resolved;
      if (typeof value === 'object') tableVariables.push(name);
    }
  }
  return {
    stack: stack.name,
    logicalId,
    name: metadata.workerName,
    lockName: metadata.lockName,
    schedule: metadata.schedule,
    periodSeconds: metadata.periodSeconds,
    timeoutSeconds: typeof properties.Timeout === 'number' ? properties.Timeout : 3,
    memorySize: typeof properties.MemorySize === 'number' ? properties.MemorySize : 128,
    handlerFile,
    handlerExport: handler.slice(dot + 1),
    environment,
    tableVariables,
    unresolved,
    partitions: partitionsOf(metadata, stack, tables),
  };
}

function partitionsOf(metadata: WorkerMetadata, stack: StackTemplate, tables: readonly AppTable[]) {
  if (metadata.partitions === undefined) return undefined;
  const stateMachineArn = resolveValue(metadata.partitions.stateMachineArn, stack.resources, tables);
  if (stateMachineArn === undefined) return undefined;
  return { stateMachineArn, maxConcurrency: metadata.partitions.maxConcurrency };
}

export const localRegion = 'local';
export const localAccount = '000000000000';

/** A template value with the app's tables in place of their references; undefined when it names anything else. */
function resolveValue(
  value: unknown,
  resources: Record<string, TemplateResource>,
  tables: readonly AppTable[],
): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object' || value === null) return undefined;
  const intrinsic = value as Record<string, unknown>;
  const table = (id: unknown) => tables.find((t) => t.logicalId === id);
  if ('Ref' in intrinsic) {
    const pseudo: Record<string, string> = {
      'AWS::Region': localRegion,
      'AWS::AccountId': localAccount,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[String(intrinsic.Ref)] ?? table(intrinsic.Ref)?.localName;
  }
  if ('Fn::GetAtt' in intrinsic && Array.isArray(intrinsic['Fn::GetAtt'])) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [unknown, unknown];
    const found = table(id);
    if (found && attribute === 'Arn')
      return `arn:aws:dynamodb:${localRegion}:${localAccount}:table/${found.localName}`;
    return undefined;
  }
  if ('Fn::Join' in intrinsic && Array.isArray(intrinsic['Fn::Join'])) {
    const [separator, parts] = intrinsic['Fn::Join'] as [unknown, unknown];
    if (typeof separator !== 'string' || !Array.isArray(parts)) return undefined;
    const resolved = parts.map((part) => resolveValue(part, resources, tables));
    return resolved.every((part) => part !== undefined) ? resolved.join(separator) : undefined;
  }
  return undefined;
}

function describeReference(value: unknown, resources: Record<string, TemplateResource>): string {
  const intrinsic = (value ?? {}) as Record<string, unknown>;
  const id = 'Ref' in intrinsic ? intrinsic.Ref : (intrinsic['Fn::GetAtt'] as unknown[] | undefined)?.[0];
  const type = typeof id === 'string' ? resources[id]?.Type : undefined;
  return type
    ? `refers to ${String(id)}, an ${type} the dev runner does not create`
    : `${JSON.stringify(value)} cannot be resolved locally`;
}
