// The scenarios that run on their own (e2e, apf, tenant) keep their results
// in files of their own, put their summaries into bench/results/latest.json
// next to the full run's figures, and have a hand-written notes file that the
// docs show under their table.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../harness/paths.ts';

/** latest.json keeps its fields; `key` becomes `value(previous)`. No latest.json yet: nothing to merge into. */
export async function mergeIntoLatest(
  file: string,
  key: string,
  value: (previous: unknown) => unknown,
): Promise<void> {
  let latest: Record<string, unknown>;
  try {
    latest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return;
  }
  latest[key] = value(latest[key]);
  await writeFile(file, JSON.stringify(latest, null, 2) + '\n');
}

/** bench/results/<results> (parsed) and bench/<notes> (empty if not written), or undefined if the scenario never ran. */
export async function readScenario(
  results: string,
  notes: string,
): Promise<{ readonly results: unknown; readonly notes: string } | undefined> {
  let r: unknown;
  try {
    r = JSON.parse(await readFile(join(repoRoot, 'bench', 'results', results), 'utf8'));
  } catch {
    return undefined;
  }
  return {
    results: r,
    notes: (await readFile(join(repoRoot, 'bench', notes), 'utf8').catch(() => '')).trim(),
  };
}
