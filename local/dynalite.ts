/**
 * dynalite, in process and in memory, patched to return the old item on a failed condition check the way
 * DynamoDB does. See `shimReturnValuesOnConditionCheckFailure` for the why and the how.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** The part of dynalite's factory we use (dynalite ships no types). */
type DynaliteFactory = (options: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;

type AttributeMap = Record<string, unknown>;

/** dynalite's internal error: `body` is what it serialises as the JSON error response. */
interface DynaliteError extends Error {
  statusCode: number;
  body: Record<string, unknown>;
}

/** The request as dynalite's actions see it, after validation. */
interface WriteRequestData {
  ReturnValuesOnConditionCheckFailure?: string;
}

type CheckConditional = (
  data: WriteRequestData,
  existingItem: AttributeMap | undefined,
) => DynaliteError | null | undefined;

interface DynaliteDb {
  checkConditional: CheckConditional;
  [shimmed]?: true;
}

/** Per-action request schema: parameters missing from `types` are silently deleted before the action runs. */
interface ActionValidation {
  types: Record<string, unknown>;
}

/** Marks dynalite's (process-wide, require-cached) db module as patched, so the shim is applied once. */
const shimmed = Symbol.for('passive-user-checker.dynalite.returnValuesOnConditionCheckFailure');

const require = createRequire(import.meta.url);

export interface RunningDynalite {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynalite(options: { readonly port?: number } = {}): Promise<RunningDynalite> {
  shimReturnValuesOnConditionCheckFailure();
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        // dynalite's close() stops listening, then waits for pending writes and closes its in-memory store.
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/**
 * dynalite 4.0.0 does not implement `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`. DynamoDB (and DynamoDB
 * Local since 1.25.0) answer a failed condition with `ConditionalCheckFailedException` whose body carries the
 * current item as `Item`; the lease lock relies on it to name the holder without a second read.
 *
 * Two patches, both on dynalite's require-cached CommonJS modules, so they apply to every server in the process:
 * 1. Request validation deletes any parameter its per-action `types` does not list before the action runs, so
 *    we declare `ReturnValuesOnConditionCheckFailure` (enum `ALL_OLD` | `NONE`, as in the DynamoDB API) for the
 *    three single-item writes.
 * 2. Those actions (putItem, updateItem, deleteItem) call `db.checkConditional(data, existingItem)` through the
 *    module's exports object, and it returns the error they send. Wrapping that export lets us add `Item` to the
 *    error body when the caller asked for it and an item exists (DynamoDB omits `Item` when there is none).
 */
function shimReturnValuesOnConditionCheckFailure(): void {
  const db = require('dynalite/db/index.js') as DynaliteDb;
  if (db[shimmed]) return;

  for (const action of ['putItem', 'updateItem', 'deleteItem']) {
    const validation = require(`dynalite/validations/${action}.js`) as ActionValidation;
    validation.types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
  }

  const checkConditional = db.checkConditional;
  db.checkConditional = (data, existingItem) => {
    const error = checkConditional(data, existingItem);
    if (error && existingItem && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
      error.body.Item = existingItem;
    }
    return error;
  };
  db[shimmed] = true;
}
