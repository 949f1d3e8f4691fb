/**
 * `run --local` and the event bus: a shell that exports EVENT_BUS_NAME (say, after sourcing the stack's outputs)
 * must not make a local run publish to a real bus. The production EventBridge client is pointed at a loopback
 * PutEvents recorder through the SDK's own AWS_ENDPOINT_URL_EVENTBRIDGE, so anything it would send is seen.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventDetailTypes } from '../../../functions/passive-user-checker/event-publisher';
import { usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, putUsers } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { useTestEngine } from '../../support/engine';
import { type EventBusRecorder, startEventBusRecorder } from '../../support/event-bus-recorder';
import { allItems, runCli } from './run-cli';

const shards = 4;
const busName = 'prod-app-events';
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

describe(`run --local and EVENT_BUS_NAME on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  let bus: EventBusRecorder;

  beforeAll(async () => {
    bus = await startEventBusRecorder();
  });
  afterAll(async () => {
    await bus?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const seeded = async (): Promise<TableNames> => {
    const names = await local.freshTables('cli-events');
    await putUsers(local.documents, names.usersTableName, [
      activeUser({ userId: 'stale-a', lastLoginAt: daysAgo(45), activeShards: shards }),
      activeUser({ userId: 'stale-b', lastLoginAt: daysAgo(400), activeShards: shards }),
      activeUser({ userId: 'recent-a', lastLoginAt: daysAgo(1), activeShards: shards }),
    ]);
    return names;
  };
  const runLocal = (names: TableNames, ...extra: string[]) => [
    'run',
    '--local',
    '--endpoint',
    local.engine.endpoint,
    '--users-table',
    names.usersTableName,
    '--lock-table',
    names.lockTableName,
    ...extra,
  ];
  /** The shell of an operator who exported the stack's bus, with EventBridge itself replaced by the recorder. */
  const shellWithBus = () => {
    // The SDK reads its endpoint from the process environment, as it would in that shell.
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', bus.endpoint);
    return {
      ACTIVE_SHARDS: String(shards),
      EVENT_BUS_NAME: busName,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    };
  };

  it('prints the events of a local run and sends nothing to the bus named by EVENT_BUS_NAME', async () => {
    const names = await seeded();
    const callsBefore = bus.callSizes.length;

    const run = await runCli(runLocal(names), { env: shellWithBus() });

    expect(run.code).toBe(0);
    expect(run.out).toMatch(/passivated {6}2\n/);
    expect(bus.callSizes.slice(callsBefore)).toEqual([]);
    const printed = run.stderrLines.filter((line) => line.startsWith('  event UserPassivated '));
    expect(
      printed.map((line) => JSON.parse(line.slice('  event UserPassivated '.length)).userId).sort(),
    ).toEqual(['stale-a', 'stale-b']);
    const notices = run.stderrLines.filter((line) => line.includes('EVENT_BUS_NAME'));
    expect(notices).toEqual([
      `EVENT_BUS_NAME (${busName}) is ignored: a local run prints its events here instead of publishing them, ` +
        `so subscribers of ${busName} hear nothing of this run; --publish-events publishes them`,
    ]);
  });

  it('publishes to the bus with --publish-events', async () => {
    const names = await seeded();

    const run = await runCli(runLocal(names, '--publish-events'), { env: shellWithBus() });

    expect(run.code).toBe(0);
    const summary = run.out.match(/^Run (\S+):/)?.[1];
    const sent = bus
      .ofType(eventDetailTypes.userPassivated)
      .filter((event) => event.detail.runId === summary);
    expect(sent.map((event) => event.detail.userId).sort()).toEqual(['stale-a', 'stale-b']);
    expect(sent.every((event) => event.eventBusName === busName)).toBe(true);
    expect(run.err).not.toMatch(/event UserPassivated/);
    expect(run.err).toMatch(`events published to ${busName}`);
  });

  it('marks no user as warned when it does not publish the warning, and does both with --publish-events', async () => {
    const names = await local.freshTables('cli-events');
    // INACTIVE_DAYS is 30: 25 days without a login is within a 7-day warning window.
    await putUsers(local.documents, names.usersTableName, [
      activeUser({ userId: 'fading-a', lastLoginAt: daysAgo(25), activeShards: shards }),
    ]);
    const env = { ...shellWithBus(), WARNING_DAYS: '7' };
    const warnedAt = async () =>
      (await allItems(local.client, names.usersTableName))[0]?.[usersTable.attributes.inactivityWarnedAt];
    const callsBefore = bus.callSizes.length;

    const printed = await runCli(runLocal(names), { env });

    expect(printed.code).toBe(0);
    expect(bus.callSizes.slice(callsBefore)).toEqual([]);
    expect(await warnedAt()).toBeUndefined();
    expect(printed.err).toMatch(/sends \(and marks\) no inactivity warning/);

    const published = await runCli(runLocal(names, '--publish-events'), { env });

    expect(published.code).toBe(0);
    expect(await warnedAt()).toEqual(expect.any(String));
    expect(bus.ofType(eventDetailTypes.userInactivityWarning).map((event) => event.detail.userId)).toContain(
      'fading-a',
    );
  });

  it('prints no event and no notice when no bus is configured', async () => {
    const names = await seeded();
    const callsBefore = bus.callSizes.length;

    const run = await runCli(runLocal(names), { env: { ACTIVE_SHARDS: String(shards) } });

    expect(run.code).toBe(0);
    expect(bus.callSizes.slice(callsBefore)).toEqual([]);
    expect(run.err).not.toMatch(/event UserPassivated|EVENT_BUS_NAME/);
  });
});
