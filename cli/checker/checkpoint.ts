/**
 * Where a backfill got to, as one copy-pasteable token: base64url of a small JSON document holding, per scan
 * segment, either "done" or the LastEvaluatedKey of the last page whose items were all handled.
 *
 * The token also names the table (its ARN and creation time, and the endpoint and region it was reached through),
 * the shard count and the mode it was taken with: resuming it against another table of the same name, another
 * ACTIVE_SHARDS or from a dry run into `--apply` would skip items that were never read or written.
 */
import type { TableIdentity } from './table-identity';

export type ScanKey = Readonly<Record<string, string>>;

/** A segment not started yet, started (resume after `next`), or finished. */
export type SegmentState =
  | { readonly state: 'pending' }
  | { readonly state: 'started'; readonly next: ScanKey }
  | { readonly state: 'done' };

export interface Checkpoint {
  readonly table: string;
  readonly identity: TableIdentity;
  readonly shards: number;
  readonly apply: boolean;
  readonly segments: readonly SegmentState[];
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** 2: the table's identity joined the token. A version 1 token cannot be checked against a table, so it is refused. */
const version = 2;

interface Encoded {
  v: number;
  table: string;
  id: { arn: string; created: string; endpoint?: string; region: string };
  shards: number;
  apply: boolean;
  /** 0 pending, 1 done, or the key to resume after. */
  s: Array<0 | 1 | Record<string, string>>;
}

export function encodeCheckpoint(checkpoint: Checkpoint): string {
  const encoded: Encoded = {
    v: version,
    table: checkpoint.table,
    id: {
      arn: checkpoint.identity.arn,
      created: checkpoint.identity.createdAt,
      ...(checkpoint.identity.endpoint === undefined ? {} : { endpoint: checkpoint.identity.endpoint }),
      region: checkpoint.identity.region,
    },
    shards: checkpoint.shards,
    apply: checkpoint.apply,
    s: checkpoint.segments.map((segment) =>
      segment.state === 'pending' ? 0 : segment.state === 'done' ? 1 : { ...segment.next },
    ),
  };
  return Buffer.from(JSON.stringify(encoded), 'utf8').toString('base64url');
}

export function decodeCheckpoint(token: string): Checkpoint {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new CheckpointError('it is not a checkpoint token (base64url, as the backfill printed it)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new CheckpointError(
      'it does not decode to a checkpoint; copy the whole token the backfill printed',
    );
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CheckpointError('it is not a checkpoint');
  const fields = parsed as Partial<Record<keyof Encoded, unknown>>;
  if (fields.v === 1) {
    throw new CheckpointError(
      'this checkpoint was made by an older version of the CLI and does not say which table it was taken on ' +
        '(ARN, creation time, endpoint, region), so it cannot be checked against this one; start over without ' +
        '--resume (always safe, just a full Scan again: items already in the contract are not written twice)',
    );
  }
  if (fields.v !== version) throw new CheckpointError(`unsupported checkpoint version ${String(fields.v)}`);
  if (typeof fields.table !== 'string' || fields.table === '') throw new CheckpointError('it names no table');
  const identity = decodeIdentity(fields.id);
  if (!Number.isSafeInteger(fields.shards) || (fields.shards as number) < 1) {
    throw new CheckpointError('it holds no valid shard count');
  }
  if (typeof fields.apply !== 'boolean') throw new CheckpointError('it holds no mode');
  if (!Array.isArray(fields.s) || fields.s.length === 0) throw new CheckpointError('it holds no segments');
  const segments = fields.s.map((raw, segment): SegmentState => {
    if (raw === 0) return { state: 'pending' };
    if (raw === 1) return { state: 'done' };
    if (isScanKey(raw)) return { state: 'started', next: raw };
    throw new CheckpointError(`segment ${segment} holds no valid position`);
  });
  return { table: fields.table, identity, shards: fields.shards as number, apply: fields.apply, segments };
}

function decodeIdentity(raw: unknown): TableIdentity {
  const id = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<string, unknown>>;
  const text = (value: unknown) => typeof value === 'string' && value !== '';
  if (
    !text(id.arn) ||
    !text(id.created) ||
    Number.isNaN(Date.parse(String(id.created))) ||
    !text(id.region) ||
    (id.endpoint !== undefined && !text(id.endpoint))
  ) {
    throw new CheckpointError('it does not name the table it was taken on (ARN, creation time, region)');
  }
  return {
    arn: id.arn as string,
    createdAt: id.created as string,
    endpoint: id.endpoint as string | undefined,
    region: id.region as string,
  };
}

function isScanKey(value: unknown): value is ScanKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([, part]) => typeof part === 'string');
}
