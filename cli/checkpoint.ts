/**
 * Where a backfill got to, as one copy-pasteable token: base64url of a small JSON document holding, per scan
 * segment, either "done" or the LastEvaluatedKey of the last page whose items were all handled.
 *
 * The token also names the table, the shard count and the mode it was taken with: resuming it against another
 * table, another ACTIVE_SHARDS or from a dry run into `--apply` would skip items that were never written.
 */

export type ScanKey = Readonly<Record<string, string>>;

/** A segment not started yet, started (resume after `next`), or finished. */
export type SegmentState =
  | { readonly state: 'pending' }
  | { readonly state: 'started'; readonly next: ScanKey }
  | { readonly state: 'done' };

export interface Checkpoint {
  readonly table: string;
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

const version = 1;

interface Encoded {
  v: number;
  table: string;
  shards: number;
  apply: boolean;
  /** 0 pending, 1 done, or the key to resume after. */
  s: Array<0 | 1 | Record<string, string>>;
}

export function encodeCheckpoint(checkpoint: Checkpoint): string {
  const encoded: Encoded = {
    v: version,
    table: checkpoint.table,
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
  if (fields.v !== version) throw new CheckpointError(`unsupported checkpoint version ${String(fields.v)}`);
  if (typeof fields.table !== 'string' || fields.table === '') throw new CheckpointError('it names no table');
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
  return { table: fields.table, shards: fields.shards as number, apply: fields.apply, segments };
}

function isScanKey(value: unknown): value is ScanKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([, part]) => typeof part === 'string');
}
