// One scenario's figures, written under test/faults/results/runs/ when the
// suite runs as `npm run faults` (KJD_FAULTS_RECORD=1), so the short form in
// `npm test` never rewrites committed results. `npm run faults` then gathers
// them into test/faults/results/latest.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Census } from '../../../harness/faults/count.ts';

export const resultsDir = new URL('../results/', import.meta.url).pathname;

export interface ScenarioRecord {
  readonly name: string;
  readonly items: number;
  readonly jobs: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly resultsMissing: number;
  readonly deadLettered: number;
  /** Seconds from the end of the fault until every item was settled; null: not within the scenario's bound. */
  readonly recoverySeconds: number | null;
  readonly queued: number;
  readonly passed: boolean;
  readonly seconds: number;
  readonly notes?: string;
  readonly deadReasons?: Readonly<Record<string, number>>;
  readonly examples?: Readonly<Record<string, readonly string[]>>;
}

export function toRecord(
  name: string,
  c: Census,
  o: { recoverySeconds: number | null; passed: boolean; seconds: number; notes?: string },
): ScenarioRecord {
  return {
    name,
    items: c.items,
    jobs: c.jobs,
    duplicates: c.duplicates,
    lost: c.lost,
    resultsMissing: c.resultsMissing,
    deadLettered: c.deadLettered,
    recoverySeconds: o.recoverySeconds,
    queued: c.queued,
    passed: o.passed,
    seconds: o.seconds,
    ...(o.notes !== undefined ? { notes: o.notes } : {}),
    deadReasons: c.deadReasons,
    examples: c.examples,
  };
}

export async function saveRecord(r: ScenarioRecord): Promise<void> {
  process.stderr.write(`[faults] ${JSON.stringify(r)}\n`);
  if (process.env.KJD_FAULTS_RECORD !== '1') return;
  const dir = join(resultsDir, 'runs');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${r.name}.json`), `${JSON.stringify(r, null, 2)}\n`);
}
