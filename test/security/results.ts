// test/security/results/latest.json: the figures of the last fuzz run, flood
// run and matrix run, each written by its own run into its own section.
import { mkdir, readFile, writeFile } from 'node:fs/promises';

export const RESULTS_FILE = new URL('./results/latest.json', import.meta.url).pathname;

export interface SecurityResults {
  fuzz?: {
    inputs: number;
    jobs: number;
    rejected: number;
    deadLettered: number;
    serverErrors: number;
    injections: number;
    peakRssMB: number;
  };
  flood?: {
    bogusPerSecond: number;
    legitJobsPerSecondRatio: number;
    /** The same ratio with the flood aimed at a bare Node server instead of kjd (the machine's floor). */
    nullResponderRatio?: number;
  };
  matrix?: { cases: number; passed: number };
}

export async function mergeResults(part: SecurityResults): Promise<void> {
  let current: SecurityResults = {};
  try {
    current = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as SecurityResults;
  } catch {
    // first run
  }
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify({ ...current, ...part }, null, 2)}\n`);
}
