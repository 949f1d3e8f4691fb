#!/usr/bin/env node
/**
 * Fetches DynamoDB Local (the jar and its native libraries) into the git-ignored `.cache/dynamodb-local/emulator/`.
 *
 * The jar is not on Maven Central in a form we can fetch offline-friendly, but the npm package
 * `amplify-dynamodb-simulator` ships it in its `emulator/` folder. We only ever `npm pack` that package (download
 * its tarball) and extract `package/emulator/`: it is never installed, so none of its dependencies or scripts run.
 *
 * Idempotent: does nothing when the jar is already there. Safe to run concurrently (e.g. from parallel test
 * workers): each run extracts into its own temporary folder and the first to finish renames it into place.
 *
 * Usable both as a CLI (`npm run fetch:dynamodb-local`) and as a module (`fetchDynamoDbLocal()`), so the engine
 * layer fetches on first use with the same logic.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const dynamoDbLocalPackage = 'amplify-dynamodb-simulator@2.9.30';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const dynamoDbLocalCacheDir = join(repoRoot, '.cache', 'dynamodb-local');
export const dynamoDbLocalDir = join(dynamoDbLocalCacheDir, 'emulator');
export const dynamoDbLocalJar = join(dynamoDbLocalDir, 'DynamoDBLocal.jar');

/**
 * Makes sure DynamoDB Local is in the cache.
 * @returns {Promise<{ dir: string; jar: string; fetched: boolean }>} where it is, and whether this call fetched it
 */
export async function fetchDynamoDbLocal() {
  if (existsSync(dynamoDbLocalJar)) {
    return { dir: dynamoDbLocalDir, jar: dynamoDbLocalJar, fetched: false };
  }
  await mkdir(dynamoDbLocalCacheDir, { recursive: true });
  const workDir = await mkdtemp(join(dynamoDbLocalCacheDir, 'fetch-'));
  try {
    await run('npm', ['pack', dynamoDbLocalPackage, '--pack-destination', workDir, '--silent'], repoRoot);
    const tarball = (await readdir(workDir)).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) {
      throw new Error(`npm pack ${dynamoDbLocalPackage} produced no tarball in ${workDir}`);
    }
    await run('tar', ['-xzf', tarball, 'package/emulator'], workDir);
    const extracted = join(workDir, 'package', 'emulator');
    if (!existsSync(join(extracted, 'DynamoDBLocal.jar'))) {
      throw new Error(
        `${dynamoDbLocalPackage} has no emulator/DynamoDBLocal.jar; was the package layout changed?`,
      );
    }
    try {
      await rename(extracted, dynamoDbLocalDir);
    } catch (error) {
      // A concurrent fetch won the race: its copy is as good as ours.
      if (!existsSync(dynamoDbLocalJar)) throw error;
    }
    return { dir: dynamoDbLocalDir, jar: dynamoDbLocalJar, fetched: true };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
async function run(command, args, cwd) {
  try {
    await execFileAsync(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const stderr = /** @type {{ stderr?: string }} */ (error).stderr?.trim();
    throw new Error(`\`${command} ${args.join(' ')}\` failed${stderr ? `: ${stderr}` : ''}`, {
      cause: error,
    });
  }
}

// Bundled into the dev runner, import.meta.url is the runner's own file: only a run of this script fetches.
if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url) &&
  /fetch-dynamodb-local\.mjs$/.test(process.argv[1])
) {
  const started = performance.now();
  fetchDynamoDbLocal().then(
    ({ dir, fetched }) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        fetched ? `DynamoDB Local fetched into ${dir} in ${seconds} s` : `DynamoDB Local already in ${dir}`,
      );
    },
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
