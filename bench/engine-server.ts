/**
 * Runs one local engine in its own process, so the process under measurement holds only the worker. Prints one
 * JSON line `{"endpoint": "http://127.0.0.1:<port>", "kind": "..."}` once the engine answers, and stops the
 * engine (and exits) on SIGTERM, SIGINT or when its parent closes stdin.
 *
 *   node --import tsx bench/engine-server.ts dynalite|dynamodb-local
 */
import { type EngineKind, engineKinds, startEngine } from '../local/engine';

const kind = process.argv[2] ?? 'dynalite';
if (!(engineKinds as readonly string[]).includes(kind)) {
  process.stderr.write(`engine-server: unknown engine "${kind}" (one of ${engineKinds.join(', ')})\n`);
  process.exit(2);
}

const engine = await startEngine(kind as EngineKind);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await engine.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open; when the parent dies without a signal, stdin ends and we stop too.
process.stdin.on('end', stop);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ endpoint: engine.endpoint, kind: engine.kind })}\n`);
