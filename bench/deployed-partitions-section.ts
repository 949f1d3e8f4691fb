/**
 * The `deployed-partitions` section of `npm run bench`: synthesizes the partitioned app (bench/partitioned-app.ts),
 * measures each partition as deployed, keeps the raw result in the temporary directory (for a closer look at the
 * timelines; not committed: a few hundred KB) and renders the verdicts and the tables.
 */
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildDir } from './bundling';
import { synthesizeStack } from './deployed-asset';
import { measureDeployedPartitions } from './deployed-partitions';
import { deployedPartitionsSection, deployedPartitionsVerdicts } from './deployed-partitions-report';
import { verdictLines, verdictTable } from './report';
import type { SetupClients } from './seeding';

/** The app that builds infra/app.ts's stack with the checker's partitions on. */
export const partitionedApp = 'npx tsx bench/partitioned-app.ts';

export async function measureDeployedPartitionsSection(options: {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly buildDir: BuildDir;
  readonly users: number;
  readonly rounds: number;
  readonly warmupUsers: number;
  readonly capPerRun?: number;
  readonly progress: (message: string) => void;
}): Promise<{ readonly markdown: string; readonly verdictLines: readonly string[] }> {
  options.progress(`cdk synth --app "${partitionedApp}": the checker with partitions on, as deployed`);
  const synthesized = synthesizeStack({ app: partitionedApp });
  try {
    const started = new Date();
    const result = await measureDeployedPartitions({ ...options, fn: synthesized.checker });
    const resultFile = join(tmpdir(), 'passive-user-checker-deployed-partitions.json');
    writeFileSync(resultFile, `${JSON.stringify(result, null, 1)}\n`);
    options.progress(`partitions as deployed: the raw result is in ${resultFile}`);
    const verdicts = deployedPartitionsVerdicts(result);
    const markdown = [
      `Measured ${started.toISOString()} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; load average ` +
        `${loadavg()
          .map((l) => l.toFixed(2))
          .join(' / ')} at the end).`,
      '',
      verdictTable(verdicts),
      deployedPartitionsSection(result),
    ].join('\n');
    return { markdown, verdictLines: verdictLines(verdicts) };
  } finally {
    synthesized.remove();
  }
}
