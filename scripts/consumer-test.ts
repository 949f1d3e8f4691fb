/**
 * `npm run test:package` (CI runs it after `npm test`): the package as a user adopts it, offline apart from the npm
 * registry. It packs this repository (`npm pack`, which builds dist/ through `prepack`) and then:
 *
 * 1. checks the tarball's type resolution with arethetypeswrong (node16 CommonJS and ESM, bundler);
 * 2. in a fresh project from the pinned CLI's own `cdk init app --language typescript --generate-only`, with the
 *    template's dependencies (the CDK libraries at the floor of the package's peer ranges) and the tarball
 *    installed: runs the "Add a worker of your own" section's installs, writes its handler where its stack
 *    snippet's `entry` says, puts the "Use it in your CDK app" snippet of docs/install.md into the template's
 *    stack with the worker's stack snippet after it, runs the template's `tsc`, `cdk synth` (no Docker: the
 *    checker's asset must be the prebuilt Lambda code, the worker's the bundle `entry` made with the app's
 *    esbuild: minified ESM with a source map), runs that bundle once against an embedded engine over a seeded
 *    Sessions table, and loads every entry point with plain `node`, by `import` and by `require`; then the
 *    "Run it locally" section (the dev runner once with its seed file), the "Test it" section's vitest example
 *    (run, then type-checked by the template's `tsc`), and the section's commands on an engine that stays (`npx
 *    dynalite`, the dev runner with `--endpoint`, `npx periodic-worker status`, `pause`, `resume`);
 * 3. in a project that installs only what docs/install.md says the login helper needs: runs its ESM and its
 *    CommonJS snippet against an embedded DynamoDB engine and checks the item they wrote; measures what that
 *    installs.
 *
 * Ends with "N passed, M failed" and exits non-zero on any failure. `KEEP_CONSUMER_DIR=1` keeps the work folder.
 */
import { execFile, type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { activeShardFor } from '../functions/login-helper/index';
import { lockTable } from '../functions/periodic-worker/lock-table-schema';
import { engineClientConfig, startEngine } from '../local/engine';
import { createTables } from '../local/tables';
import { projectRoot } from './build';
import { packageEntries, prebuiltFunctions } from './package-layout';

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly peerDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as Manifest;
const installDoc = readFileSync(path.join(projectRoot, 'docs/install.md'), 'utf8');
const work = mkdtempSync(path.join(tmpdir(), 'passive-user-checker-consumer-'));
const appName = 'consumer-app';
const appDir = path.join(work, appName);
const loginDir = path.join(work, 'login-only');

/** The environment of every command: npm's own variables from `npm run` dropped, no telemetry, no notices. */
const childEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
  ),
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  CDK_DISABLE_VERSION_CHECK: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

class StepFailure extends Error {}

/** Runs a command; returns its stdout, or throws with the end of its output. */
function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }): string {
  const result = spawnSync(command, args, {
    env: childEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new StepFailure(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}\n${output}`);
  }
  return String(result.stdout ?? '');
}

/**
 * Runs a command without blocking the event loop (the embedded engine answers from this process); returns its
 * stdout, or throws with its output.
 */
function runAsync(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error)
        reject(new StepFailure(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The first fenced block with this info string after a heading (exact heading text, any level). */
export function codeBlockAfter(markdown: string, heading: string, info: string, skip = 0): string {
  const start = markdown.search(new RegExp(`^#+ ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  if (start === -1) throw new StepFailure(`docs/install.md has no heading "${heading}"`);
  const blocks = [
    ...markdown.slice(start).matchAll(new RegExp(`^\`\`\`${info}\\n([\\s\\S]*?)^\`\`\`$`, 'gm')),
  ];
  const block = blocks[skip]?.[1];
  if (block === undefined)
    throw new StepFailure(`docs/install.md has no ${info} block ${skip + 1} after "${heading}"`);
  return block;
}

function sizeOf(dir: string): number {
  return Number(run('du', ['-sk', dir], { cwd: work }).split('\t')[0]) * 1024;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} kB`;

const results: { name: string; ok: boolean; detail: string }[] = [];

async function step(
  name: string,
  body: () => string | undefined | Promise<string | undefined>,
): Promise<boolean> {
  const started = Date.now();
  try {
    const detail = (await body()) ?? '';
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    results.push({ name, ok: true, detail });
    console.log(`ok   ${name} (${seconds} s)${detail ? `: ${detail}` : ''}`);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.push({ name, ok: false, detail: message });
    console.log(`FAIL ${name}\n${message.replace(/^/gm, '     ')}`);
    return false;
  }
}

/**
 * One import line per module: the names the snippets import from it, each once (two snippets of one stack may each
 * import `CfnOutput`, as a reader pasting both would merge them).
 */
function mergedImports(lines: readonly string[]): string[] {
  const names = new Map<string, Set<string>>();
  const others: string[] = [];
  for (const line of lines) {
    const named = /^import \{ (.+) \} from '([^']+)';$/.exec(line);
    if (named === null) {
      others.push(line);
      continue;
    }
    const [, list = '', from = ''] = named;
    const set = names.get(from) ?? new Set<string>();
    for (const name of list.split(',')) set.add(name.trim());
    names.set(from, set);
  }
  return [...others, ...[...names].map(([from, set]) => `import { ${[...set].join(', ')} } from '${from}';`)];
}

/** The template's stack file with the snippet in place of its body and the snippet's imports at the top. */
function withSnippet(stackSource: string, snippet: string): string {
  const lines = snippet.trimEnd().split('\n');
  const imports = mergedImports(lines.filter((line) => line.startsWith('import ')));
  const body = lines.filter((line) => !line.startsWith('import ') && line.trim() !== '');
  const superCall = 'super(scope, id, props);\n';
  const at = stackSource.indexOf(superCall);
  const end = stackSource.lastIndexOf('\n  }\n}');
  const lastImport = stackSource.lastIndexOf('\nimport ');
  if (at === -1 || end === -1 || lastImport === -1) {
    throw new StepFailure('the cdk init stack template changed shape: no super(...) call or constructor end');
  }
  const afterImports = stackSource.indexOf('\n', lastImport + 1) + 1;
  return (
    stackSource.slice(0, afterImports) +
    `${imports.join('\n')}\n` +
    stackSource.slice(afterImports, at + superCall.length) +
    `\n${body.map((line) => `    ${line}`).join('\n')}` +
    stackSource.slice(end)
  );
}

const ownWorkerSection = 'Add a worker of your own';

/**
 * The worker section's own steps before the synth: its `npm install` lines, and its handler written where its stack
 * snippet's `entry` points. Returns the handler's path in the app.
 */
function addOwnWorker(): string {
  for (const line of codeBlockAfter(installDoc, ownWorkerSection, 'sh', 0).trim().split('\n')) {
    const command = line.trim().split(/\s+/);
    if (command.slice(0, 2).join(' ') !== 'npm install') {
      throw new StepFailure(`unexpected command in "${ownWorkerSection}": ${line}`);
    }
    run('npm', command.slice(1), { cwd: appDir });
  }
  const entry = /entry: '([^']+)'/.exec(codeBlockAfter(installDoc, ownWorkerSection, 'ts', 1))?.[1];
  if (entry === undefined) throw new StepFailure(`the stack snippet of "${ownWorkerSection}" has no entry`);
  run('mkdir', ['-p', path.dirname(path.join(appDir, entry))], { cwd: appDir });
  writeFileSync(path.join(appDir, entry), codeBlockAfter(installDoc, ownWorkerSection, 'ts', 0));
  return entry;
}

/** Loads every entry point with plain node, by import (ESM) and by require (CommonJS), in `cwd`. */
function loadEntriesWithNode(cwd: string, entries: { specifier: string; exportName: string }[]): string {
  const checks = entries.map(({ specifier, exportName }) => ({ specifier, exportName }));
  const esm = `for (const c of ${JSON.stringify(checks)}) { const m = await import(c.specifier); if (typeof m[c.exportName] !== 'function') throw new Error(c.specifier + ' has no ' + c.exportName); }`;
  const cjs = `for (const c of ${JSON.stringify(checks)}) { const m = require(c.specifier); if (typeof m[c.exportName] !== 'function') throw new Error(c.specifier + ' has no ' + c.exportName); }`;
  run(process.execPath, ['--input-type=module', '-e', esm], { cwd });
  run(process.execPath, ['--input-type=commonjs', '-e', cjs], { cwd });
  const shard = (how: string) =>
    run(
      process.execPath,
      how === 'import'
        ? [
            '--input-type=module',
            '-e',
            "const m = await import('passive-user-checker/login'); console.log(m.activeShardFor('a', 16));",
          ]
        : [
            '--input-type=commonjs',
            '-e',
            "console.log(require('passive-user-checker/login').activeShardFor('a', 16));",
          ],
      { cwd },
    ).trim();
  const [imported, required] = [shard('import'), shard('require')];
  if (imported !== '12' || required !== '12') {
    throw new StepFailure(
      `activeShardFor('a', 16) gave ${imported} by import and ${required} by require, not 12`,
    );
  }
  return checks.map((c) => c.specifier).join(', ');
}

async function main(): Promise<number> {
  console.log(`Consumer test in ${work}`);
  let tarball = '';
  const packed = await step('npm pack (builds dist/ through prepack)', () => {
    const out = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: projectRoot });
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as [
      { filename: string; size: number; unpackedSize: number },
    ];
    tarball = path.join(work, info.filename);
    return `${info.filename}, ${kb(statSync(tarball).size)} packed, ${kb(info.unpackedSize)} unpacked`;
  });
  if (!packed) return report();

  await step('arethetypeswrong: types resolve for node16 CommonJS and ESM and bundlers', () => {
    run(
      path.join(projectRoot, 'node_modules/.bin/attw'),
      [tarball, '--profile', 'node16', '--format', 'table-flipped'],
      {
        cwd: work,
      },
    );
    return undefined;
  });

  const present = packageEntries.filter((entry) => {
    const inTarball = run('tar', ['-tzf', tarball], { cwd: work }).includes(`package/dist/${entry.name}.mjs`);
    return inTarball || !entry.optional;
  });
  const exported = new Map([
    ['.', 'PassiveUserChecker'],
    ['./login', 'recordLogin'],
    ['./worker', 'periodicWorker'],
    ['./testing', 'invokeWorker'],
    ['./admin', 'pauseWorker'],
  ]);
  const specifiers = present.map((entry) => ({
    specifier: entry.subpath === '.' ? manifest.name : `${manifest.name}/${entry.subpath.slice(2)}`,
    exportName: exported.get(entry.subpath) ?? 'default',
  }));

  // The CDK app.
  const initialized = await step(
    'cdk init app --language typescript --generate-only (the pinned CLI)',
    () => {
      run('mkdir', ['-p', appDir], { cwd: work });
      run(
        path.join(projectRoot, 'node_modules/.bin/cdk'),
        ['init', 'app', '--language', 'typescript', '--generate-only'],
        {
          cwd: appDir,
        },
      );
      const pkg = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      // The floor of the peer ranges: what the package promises to work with.
      for (const name of ['aws-cdk-lib', 'constructs']) {
        pkg.dependencies[name] = (manifest.peerDependencies[name] ?? '').replace(/^\^/, '');
      }
      writeFileSync(path.join(appDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
      const versions = {
        ...pkg.dependencies,
        typescript: pkg.devDependencies.typescript,
        tsx: pkg.devDependencies.tsx,
      };
      return Object.entries(versions)
        .map(([name, version]) => `${name}@${version}`)
        .join(', ');
    },
  );
  if (initialized) {
    const installed = await step('npm install (the template dependencies and the tarball)', () => {
      run('npm', ['install'], { cwd: appDir });
      const template = sizeOf(path.join(appDir, 'node_modules'));
      run('npm', ['install', tarball], { cwd: appDir });
      // The template's tsx brings esbuild along; the tarball holds no TypeScript source, so synth can only use
      // the prebuilt code (checked below by content).
      const esbuild = existsSync(path.join(appDir, 'node_modules/esbuild'))
        ? 'esbuild present (from tsx)'
        : 'no esbuild';
      const total = sizeOf(path.join(appDir, 'node_modules'));
      return `node_modules ${mb(total)}, of which the package adds ${mb(total - template)}, ${esbuild}`;
    });
    if (installed) {
      await step("a worker of its own: the section's installs and its handler", () => {
        const before = sizeOf(path.join(appDir, 'node_modules'));
        const entry = addOwnWorker();
        const grown = sizeOf(path.join(appDir, 'node_modules')) - before;
        return `${entry}; node_modules grew by ${mb(grown)} (esbuild ${esbuildVersion(appDir)})`;
      });
      await step(
        "the stack snippets (checker, then the own worker) in the stack, and the template's tsc",
        () => {
          const stackFile = path.join(appDir, 'lib', `${appName}-stack.ts`);
          const snippet = [
            codeBlockAfter(installDoc, 'Use it in your CDK app', 'ts'),
            codeBlockAfter(installDoc, ownWorkerSection, 'ts', 1),
          ].join('\n');
          writeFileSync(stackFile, withSnippet(readFileSync(stackFile, 'utf8'), snippet));
          // The template's tsconfig covers lambda/ too: the worker's handler is type-checked against the .d.cts.
          run('npx', ['tsc', '--noEmit'], { cwd: appDir });
          return `${path.relative(appDir, stackFile)}, lambda/`;
        },
      );
      let ownWorkerAsset = '';
      await step(
        "cdk synth without Docker: the checker's asset is the prebuilt code, the worker's is bundled",
        () => {
          run('npx', ['cdk', 'synth', '--quiet', '--no-notices'], {
            cwd: appDir,
            env: { ...childEnv, PATH: pathWithoutDocker() },
          });
          const out = path.join(appDir, 'cdk.out');
          const template = JSON.parse(
            readFileSync(path.join(out, 'ConsumerAppStack.template.json'), 'utf8'),
          ) as {
            Resources: Record<
              string,
              { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
            >;
          };
          const functions = Object.values(template.Resources).filter(
            (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler',
          );
          const prebuilt = readFileSync(
            path.join(
              appDir,
              'node_modules',
              manifest.name,
              'dist/lambda',
              prebuiltFunctions[0]?.name ?? '',
              'index.mjs',
            ),
          );
          const assets = readdirSync(out).filter((name) => name.startsWith('asset.'));
          const same = assets.filter((name) => {
            const file = path.join(out, name, 'index.mjs');
            return existsSync(file) && readFileSync(file).equals(prebuilt);
          });
          if (functions.length === 0 || same.length === 0) {
            throw new StepFailure(
              `expected a function with handler index.handler whose asset is dist/lambda's bundle; found ${functions.length} function(s), ${same.length} matching asset(s)`,
            );
          }
          ownWorkerAsset = ownWorkerAssetOf(template, out);
          const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
          if (!rules.some((r) => r.Properties.ScheduleExpression === 'rate(1 hour)')) {
            throw new StepFailure(
              `expected the own worker's rate(1 hour) rule; found rules ${rules.map((r) => String(r.Properties.ScheduleExpression)).join(', ')}`,
            );
          }
          const bundle = path.join(ownWorkerAsset, 'index.mjs');
          return (
            `${functions.length} function(s), runtime ${String(functions[0]?.Properties.Runtime)}, the checker's ` +
            `asset = dist/lambda bundle, the own worker's bundle ${kb(statSync(bundle).size)} minified ESM + ` +
            `${kb(statSync(`${bundle}.map`).size)} source map, ${rules.length} schedule rules`
          );
        },
      );
      await step('plain node: import and require of every entry point', () =>
        loadEntriesWithNode(appDir, specifiers),
      );
      if (ownWorkerAsset !== '') {
        await step("the own worker's bundle runs once on an embedded engine: purge, checkpoint, lease", () =>
          runOwnWorkerOnce(ownWorkerAsset),
        );
      }
      await step(
        'the dev runner as docs/install.md shows: synth, tables, the own worker once on dynalite',
        () => {
          const before = sizeOf(path.join(appDir, 'node_modules'));
          const [install = '', runner = ''] = codeBlockAfter(installDoc, 'Run it locally', 'sh')
            .trim()
            .split('\n');
          const [npm, ...installArgs] = install.split(/\s+/);
          run(npm ?? 'npm', installArgs, { cwd: appDir });
          const grew = sizeOf(path.join(appDir, 'node_modules')) - before;
          writeFileSync(path.join(appDir, 'seed.json'), codeBlockAfter(installDoc, 'Run it locally', 'json'));
          const [npx, ...runnerArgs] = runner.split(/\s+/);
          const out = run(npx ?? 'npx', runnerArgs, { cwd: appDir });
          const line = out.split('\n').find((l) => l.startsWith('purge-expired-sessions: '));
          if (
            !/^purge-expired-sessions: completed in \d+ ms: deleted 3$/.test(line ?? '') ||
            !/^Seeded 4 items into Sessions$/m.test(out)
          ) {
            throw new StepFailure(
              `expected the worker's summary line (deleted 3) and the seed's 4 sessions:\n${out}`,
            );
          }
          return `${line}; dynalite adds ${mb(grew)} to node_modules`;
        },
      );
      await step(
        "the docs' vitest example with passive-user-checker/testing passes in the app, and type-checks",
        () => {
          run('npm', ['install', '--save-dev', 'vitest'], { cwd: appDir });
          const file = path.join('test', 'purge-expired-sessions.test.ts');
          writeFileSync(path.join(appDir, file), codeBlockAfter(installDoc, 'Test it', 'ts'));
          const out = run('npx', ['vitest', 'run', file], { cwd: appDir });
          if (!/1 passed/.test(out)) throw new StepFailure(out);
          // The template's tsconfig covers test/ too: `npm run build` checks the example as a user's would.
          run('npx', ['tsc', '--noEmit'], { cwd: appDir });
          return `${file}: 1 passed; tsc clean`;
        },
      );
      await operateWithTheBin();
    }
  }

  // The application that only records logins.
  const loginInstall = await step('login helper alone: npm install as docs/install.md says', () => {
    run('mkdir', ['-p', loginDir], { cwd: work });
    writeFileSync(
      path.join(loginDir, 'package.json'),
      '{ "name": "login-only", "version": "1.0.0", "private": true }\n',
    );
    const command = codeBlockAfter(installDoc, 'Install', 'sh', 1).trim().split(/\s+/);
    if (command.slice(0, 3).join(' ') !== `npm install ${manifest.name}`) {
      throw new StepFailure(`unexpected install command: ${command.join(' ')}`);
    }
    run('npm', ['install', tarball, ...command.slice(3)], { cwd: loginDir });
    const modules = path.join(loginDir, 'node_modules');
    for (const absent of ['aws-cdk-lib', 'constructs', 'esbuild']) {
      if (existsSync(path.join(modules, absent))) throw new StepFailure(`${absent} was installed`);
    }
    return `node_modules ${mb(sizeOf(modules))} (${readdirSync(path.join(modules, '@aws-sdk')).length} @aws-sdk packages), no aws-cdk-lib, no constructs`;
  });
  if (loginInstall) {
    const engine = await startEngine('dynalite');
    try {
      const client = new DynamoDBClient(engineClientConfig(engine.endpoint));
      const tables = { usersTableName: 'Users', lockTableName: 'Locks' };
      await createTables(client, tables);
      const documents = DynamoDBDocumentClient.from(client);
      const env = {
        ...childEnv,
        AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      for (const [label, file, skip] of [
        ['ESM', 'record-login.mjs', 0],
        ['CommonJS', 'record-login.cjs', 1],
      ] as const) {
        await step(`login helper alone: the ${label} snippet records a login`, async () => {
          writeFileSync(
            path.join(loginDir, file),
            codeBlockAfter(installDoc, 'Record logins from your application', 'js', skip),
          );
          const out = (await runAsync(process.execPath, [file], { cwd: loginDir, env })).trim();
          const { Item } = await documents.send(
            new GetCommand({ TableName: tables.usersTableName, Key: { userId: 'user-1' } }),
          );
          if (
            out !== 'recorded' ||
            Item?.status !== 'active' ||
            Item.activeShard !== activeShardFor('user-1')
          ) {
            throw new StepFailure(`printed ${JSON.stringify(out)}; item ${JSON.stringify(Item)}`);
          }
          return `printed ${out}; user-1 active in shard ${Item.activeShard}`;
        });
      }
      client.destroy();
    } finally {
      await engine.stop();
    }
  }
  return report();
}

interface SynthesizedTemplate {
  readonly Resources: Record<
    string,
    { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }
  >;
}

/** The asset directory of the own worker's function (the one given SESSIONS_TABLE_NAME), with its bundle and map. */
function ownWorkerAssetOf(template: SynthesizedTemplate, out: string): string {
  const functions = Object.values(template.Resources).filter(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.SESSIONS_TABLE_NAME !== undefined,
  );
  const assetPath = functions[0]?.Metadata?.['aws:asset:path'];
  const dir = assetPath === undefined ? '' : path.join(out, assetPath);
  const files = dir === '' || !existsSync(dir) ? [] : readdirSync(dir).sort();
  if (functions.length !== 1 || files.join(' ') !== 'index.mjs index.mjs.map') {
    throw new StepFailure(
      `expected one function with SESSIONS_TABLE_NAME whose asset is index.mjs and its source map; found ${functions.length} function(s), asset ${assetPath ?? 'none'} holding ${files.join(', ') || 'nothing'}`,
    );
  }
  return dir;
}

/**
 * Invokes the worker's synthesized bundle in plain node, as Lambda would, against dynalite with the lock table and
 * a Sessions table of three expired sessions and one live one; checks its summary, the table and its lock item.
 */
async function runOwnWorkerOnce(assetDir: string): Promise<string> {
  const engine = await startEngine('dynalite');
  try {
    const client = new DynamoDBClient(engineClientConfig(engine.endpoint));
    const documents = DynamoDBDocumentClient.from(client);
    const tables = { usersTableName: 'Users', lockTableName: 'Locks', sessionsTableName: 'Sessions' };
    await createTables(client, tables);
    await client.send(
      new CreateTableCommand({
        TableName: tables.sessionsTableName,
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    await documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [tables.sessionsTableName]: [
            { sessionId: 'expired-1', expiresAt: at(-3) },
            { sessionId: 'expired-2', expiresAt: at(-1) },
            { sessionId: 'expired-3', expiresAt: at(-0.01) },
            { sessionId: 'live-1', expiresAt: at(1) },
          ].map((Item) => ({ PutRequest: { Item } })),
        },
      }),
    );
    const bundle = path.join(assetDir, 'index.mjs');
    const invoke = `const { handler } = await import(${JSON.stringify(bundle)}); const record = await handler({}, { awsRequestId: 'consumer-1', getRemainingTimeInMillis: () => 60000 }); console.log('RUN ' + JSON.stringify(record));`;
    const out = await runAsync(process.execPath, ['--input-type=module', '-e', invoke], {
      cwd: appDir,
      env: {
        ...childEnv,
        AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        LOCK_TABLE_NAME: tables.lockTableName,
        SESSIONS_TABLE_NAME: tables.sessionsTableName,
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
    });
    const line = out.split('\n').find((l) => l.startsWith('RUN ')) ?? '';
    const record = JSON.parse(line.slice(4) || '{}') as { outcome?: string; deleted?: number };
    const { Items = [] } = await documents.send(new ScanCommand({ TableName: tables.sessionsTableName }));
    const left = Items.map((item) => String(item.sessionId)).sort();
    const { Item: lock } = await documents.send(
      new GetCommand({
        TableName: tables.lockTableName,
        Key: { [lockTable.partitionKey]: 'purge-expired-sessions' },
      }),
    );
    client.destroy();
    if (
      record.outcome !== 'completed' ||
      record.deleted !== 3 ||
      left.join(' ') !== 'live-1 purge-expired-sessions#checkpoint' ||
      lock === undefined
    ) {
      throw new StepFailure(
        `run record ${line || out}; sessions left ${left.join(', ')}; lock item ${JSON.stringify(lock)}`,
      );
    }
    return `outcome ${record.outcome}, deleted ${record.deleted}, left ${left.join(', ')}, lock item purge-expired-sessions written`;
  } finally {
    await engine.stop();
  }
}

/** Runs a command without blocking the event loop; resolves to its exit code and output, whatever the code. */
function runForExit(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A loopback port nothing listens on now (the system's pick), for a server the step starts itself. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers DynamoDB's ListTables at the endpoint; rejects after `ms`. */
async function answering(endpoint: string, ms: number): Promise<void> {
  const client = new DynamoDBClient({ ...engineClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new StepFailure(`nothing answers at ${endpoint}: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * The operator's CLI as the consumer meets it: `npx periodic-worker --help`; then the commands of "Run it locally"
 * that keep the engine, as written there but on a free port: `npx dynalite`, the dev runner once with `--endpoint`
 * on it, `status <worker>` with the run in its history, `pause`, `resume`. Between them: `status` lists the worker,
 * a misspelt `pause` is refused naming the worker that exists, and `list` shows the pause.
 */
async function operateWithTheBin(): Promise<void> {
  await step('npx periodic-worker --help: the bin runs with plain node in the app', async () => {
    const help = await runForExit('npx', ['periodic-worker', '--help'], { cwd: appDir, env: childEnv });
    if (help.code !== 0 || !help.stdout.startsWith('Usage: periodic-worker <command>')) {
      throw new StepFailure(`exit ${help.code}\n${help.stdout}${help.stderr}`);
    }
    return help.stdout.split('\n')[0];
  });
  await step(
    'the dev runner on an engine that stays, then npx periodic-worker status / pause / resume on the own worker',
    async () => {
      const [engineLine = '', ...lines] = codeBlockAfter(installDoc, 'Run it locally', 'sh', 1)
        .trim()
        .split('\n');
      const documentedPort = /^npx dynalite --port (\d+)\b.* &$/.exec(engineLine)?.[1];
      if (documentedPort === undefined) {
        throw new StepFailure(`expected "npx dynalite --port N … &" first in the block, got: ${engineLine}`);
      }
      const port = String(await freePort());
      const here = (line: string) =>
        line
          .replace(`--port ${documentedPort}`, `--port ${port}`)
          .replaceAll(`localhost:${documentedPort}`, `localhost:${port}`);
      // Its own process group, so the engine npx starts ends with it.
      const engine = spawn('sh', ['-c', `exec ${here(engineLine.replace(/ &$/, ''))}`], {
        cwd: appDir,
        env: childEnv,
        detached: true,
        stdio: 'ignore',
      });
      try {
        await answering(`http://localhost:${port}`, 30_000);
        const worker = 'purge-expired-sessions';
        const shell = (line: string) => runForExit('sh', ['-c', here(line)], { cwd: appDir, env: childEnv });
        const command = (name: string) => {
          const line = lines.find((l) => l.startsWith(`npx ${name} `));
          if (line === undefined) throw new StepFailure(`no "npx ${name}" line in the block`);
          return line;
        };
        const cliLine = (sub: string) => command(`periodic-worker ${sub}`);
        const targets = cliLine('status').replace(/^npx periodic-worker status \S+ /, '');
        const devRun = await shell(command('periodic-worker-dev'));
        const one = await shell(cliLine('status'));
        const list = await shell(`npx periodic-worker status ${targets}`);
        const typo = await shell(`npx periodic-worker pause purge-expired-sesions --reason typo ${targets}`);
        const paused = await shell(cliLine('pause'));
        const listed = await shell(`npx periodic-worker list ${targets}`);
        const resumed = await shell(cliLine('resume'));
        const problems = [
          devRun.code === 0 && /^purge-expired-sessions: completed in \d+ ms: deleted 3$/m.test(devRun.stdout)
            ? ''
            : `dev runner: ${devRun.code} ${devRun.stdout}${devRun.stderr}`,
          one.code === 0 &&
          /History \(newest first, 1 runs\):\n {2}#1 .* completed .* deleted=3/.test(one.stdout)
            ? ''
            : `status ${worker}: ${one.code} ${one.stdout}${one.stderr}`,
          list.code === 0 && list.stdout.includes(`Lock ${worker}:`)
            ? ''
            : `status: ${list.code} ${list.stdout}${list.stderr}`,
          typo.code === 2 && typo.stderr.includes(`workers here: ${worker}`)
            ? ''
            : `typo: ${typo.code} ${typo.stdout}${typo.stderr}`,
          paused.code === 0 && listed.stdout.includes('paused by')
            ? ''
            : `pause: ${paused.code} ${paused.stdout}${paused.stderr} ${listed.stdout}${listed.stderr}`,
          resumed.code === 0 && resumed.stdout.startsWith(`Resumed ${worker}`)
            ? ''
            : `resume: ${resumed.code} ${resumed.stdout}${resumed.stderr}`,
        ].filter((problem) => problem !== '');
        if (problems.length > 0) throw new StepFailure(problems.join('\n'));
        return `dev runner --endpoint ran ${worker} (deleted 3); status showed its run, a misspelt pause refused (exit 2), pause and resume worked`;
      } finally {
        if (engine.pid !== undefined) process.kill(-engine.pid, 'SIGTERM');
      }
    },
  );
}

/** The version of the esbuild the app installed. */
function esbuildVersion(dir: string): string {
  const file = path.join(dir, 'node_modules/esbuild/package.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
    : 'absent';
}

/** PATH without any directory holding a docker binary, so a synth that falls back to Docker bundling fails. */
function pathWithoutDocker(): string {
  return (childEnv.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !existsSync(path.join(dir, 'docker')))
    .join(path.delimiter);
}

function report(): number {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\nconsumer: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const code = await main();
if (process.env.KEEP_CONSUMER_DIR === '1') console.log(`Kept ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exit(code);
