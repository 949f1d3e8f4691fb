import { describe, expect, it } from 'vitest';
import { EventOutbox } from '../../functions/passive-user-checker/event-outbox';

const event = (userId: string) => ({ userId });

/** A publisher whose calls stay open until the test answers them. */
function heldPublisher(missed: (batch: readonly { userId: string }[]) => string[] = () => []) {
  const calls: { batch: readonly { userId: string }[]; answer: () => void }[] = [];
  const publish = (batch: readonly { userId: string }[]) =>
    new Promise<readonly string[]>((resolve) => {
      calls.push({ batch, answer: () => resolve(missed(batch)) });
    });
  return { calls, publish };
}

describe('EventOutbox', () => {
  it('sends a batch as soon as it is full and keeps the rest until drained', async () => {
    const { calls, publish } = heldPublisher();
    const outbox = new EventOutbox(publish, 3, 2);

    for (const id of ['a', 'b', 'c', 'd']) await outbox.add(event(id));

    expect(calls.map((call) => call.batch.map((e) => e.userId))).toEqual([['a', 'b', 'c']]);
    const drained = outbox.drain();
    await Promise.resolve();
    for (const call of calls) call.answer();
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const call of calls) call.answer();
    expect(await drained).toEqual([]);
    expect(calls.map((call) => call.batch.map((e) => e.userId))).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('makes the adder wait once the most calls it allows are under way, so events never pile up', async () => {
    const { calls, publish } = heldPublisher();
    const outbox = new EventOutbox(publish, 1, 2);
    await outbox.add(event('a'));
    await outbox.add(event('b'));

    let thirdAdded = false;
    const third = outbox.add(event('c')).then(() => {
      thirdAdded = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const waitedWhileFull = !thirdAdded;
    calls[0]?.answer();
    await third;

    expect(waitedWhileFull).toBe(true);
    expect(calls).toHaveLength(3);
  });

  it('returns every event a call could not deliver, and the whole batch of a call that threw', async () => {
    let call = 0;
    const outbox = new EventOutbox(
      async (batch: readonly { userId: string }[]) => {
        call += 1;
        if (call === 1) return [batch[1]?.userId ?? ''];
        throw new Error('EventBridge is down');
      },
      2,
      4,
    );

    for (const id of ['a', 'b', 'c', 'd', 'e']) await outbox.add(event(id));
    const undelivered = await outbox.drain();

    expect([...undelivered].sort()).toEqual(['b', 'c', 'd', 'e']);
  });
});
