/**
 * `--seed FILE`: the user's data for a local run.
 *
 * - `*.json`: items per table, `{ "<table>": [ { ...item }, ... ] }`, items in plain JSON (as the document client
 *   writes them). A table is named by its construct id (`Sessions`), its construct path (`MyStack/Sessions`), its
 *   logical id or its local name; each item is put (replacing an item with the same key).
 * - `*.js`, `*.mjs`, `*.cjs`: a module whose default export is `async ({ client, endpoint, tables }) => {}`, called
 *   once the tables exist (`tables` lists each table's `constructPath`, `logicalId` and `localName`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AppTable, type AppWorker, DevRunnerError } from './assembly';

/** What a seed hook is given: the engine's client and endpoint, and the app's tables by their local names. */
export interface SeedContext {
  readonly client: DynamoDBClient;
  readonly endpoint: string;
  /** The app's tables with the names the runner gave them locally. */
  readonly tables: readonly AppTable[];
  readonly workers: readonly AppWorker[];
}

const batchSize = 25;

/** The app's table a seed file names, by construct id, construct path, logical id or local name. */
export function tableNamed(tables: readonly AppTable[], name: string): AppTable | undefined {
  const matches = tables.filter(
    (table) =>
      table.localName === name ||
      table.logicalId === name ||
      table.constructPath === name ||
      `${table.stack}/${table.constructPath}` === name ||
      table.constructPath?.split('/').at(-1) === name,
  );
  return matches.length === 1 ? matches[0] : undefined;
}

/** Seeds the tables from the file; returns one line per table seeded. */
export async function seedTables(file: string, context: SeedContext): Promise<string[]> {
  const absolute = path.resolve(file);
  if (/\.(m|c)?js$/.test(absolute)) {
    const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    if (typeof module.default !== 'function') {
      throw new DevRunnerError(
        `--seed ${file} has no default export: export default async ({ client, tables }) => { … }`,
      );
    }
    await (module.default as (context: SeedContext) => Promise<void>)(context);
    return [`Seeded with ${file}`];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(absolute, 'utf8'));
  } catch (error) {
    throw new DevRunnerError(
      `--seed ${file} is not a JSON file of items per table (${error instanceof Error ? error.message : String(error)}): give { "Sessions": [ { ... } ] }`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DevRunnerError(
      `--seed ${file} must hold an object of items per table: { "Sessions": [ { ... } ] }`,
    );
  }
  const names = context.tables.map((t) => t.constructPath ?? t.logicalId).join(', ');
  const plan = Object.entries(parsed as Record<string, unknown>).map(([name, items]) => {
    const table = tableNamed(context.tables, name);
    if (table === undefined) {
      throw new DevRunnerError(
        `--seed ${file} names table "${name}", which the app does not have (or has twice): use one of ${names}`,
      );
    }
    if (
      !Array.isArray(items) ||
      items.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))
    ) {
      throw new DevRunnerError(`--seed ${file}: "${name}" must be an array of items (objects)`);
    }
    return { table, items: items as Record<string, unknown>[] };
  });
  const documents = DynamoDBDocumentClient.from(context.client);
  const lines: string[] = [];
  for (const { table, items } of plan) {
    for (let i = 0; i < items.length; i += batchSize) {
      let requests = items.slice(i, i + batchSize).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await documents.send(
          new BatchWriteCommand({ RequestItems: { [table.localName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[table.localName] ?? []) as typeof requests;
      }
    }
    lines.push(`Seeded ${items.length} item${items.length === 1 ? '' : 's'} into ${table.localName}`);
  }
  return lines;
}
