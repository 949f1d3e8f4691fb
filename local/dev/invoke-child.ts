/**
 * One worker's function container for the dev runner: a process of its own with the function's environment, that
 * loads the synthesized bundle once (the cold start) and invokes its handler for every `invoke` message, as Lambda
 * keeps a warm container. Arguments: <handler file> <export name>. Answers each invoke with a `result` or an
 * `error` message.
 */
import { pathToFileURL } from 'node:url';
import { lambdaContext, type WorkerInvokeMessage, type WorkerReplyMessage } from './protocol';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const [handlerFile = '', exportName = 'handler'] = process.argv.slice(2);

async function loadHandler(): Promise<Handler> {
  const module = (await import(pathToFileURL(handlerFile).href)) as Record<string, unknown> & {
    default?: Record<string, unknown>;
  };
  const handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== 'function') throw new Error(`${handlerFile} exports no function "${exportName}"`);
  return handler as Handler;
}

const reply = (message: WorkerReplyMessage) => process.send?.(message);
let loaded: Promise<Handler> | undefined;

process.on('message', (message: WorkerInvokeMessage) => {
  if (message.type !== 'invoke') return;
  loaded ??= loadHandler();
  void loaded
    .then((handler) => handler(message.event, lambdaContext(message)))
    .then(
      (record) => reply({ type: 'result', requestId: message.requestId, record }),
      (error: unknown) => {
        const { name, message: text } = error instanceof Error ? error : new Error(String(error));
        const record = (error as { summary?: unknown }).summary;
        reply({ type: 'error', requestId: message.requestId, name, message: text, record });
      },
    );
});
// The parent ends this process by closing the channel.
process.on('disconnect', () => process.exit(0));
