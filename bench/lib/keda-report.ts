// The KEDA head-to-head (bench/keda.ts) as people read it: a section of
// docs/benchmarks.md (bench/report.ts puts it there) and docs/keda.svg, both
// from bench/results/keda.json.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../harness/paths.ts';
import { escapeXml } from './svg.ts';

export type { Figures } from './keda-tally.ts';
import type { Figures } from './keda-tally.ts';

export interface KedaResults {
  readonly date: string;
  readonly keda: string;
  readonly node: string;
  readonly scenarios: readonly {
    readonly name: string;
    readonly describe: string;
    readonly items: number;
    readonly workMs: number;
    readonly initMs: number;
    readonly kjd: Figures;
    /** kjd again with other settings (e.g. limits.maxActiveJobs). */
    readonly kjdSettingsTried?: readonly (Figures & { readonly setting: string })[];
    readonly keda: Figures & { readonly setting: string };
    readonly kedaSettingsTried: readonly (Figures & { readonly setting: string })[];
  }[];
}

const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');

/** `notes`: what the figures mean, hand-written (bench/keda-notes.md), shown under them. */
export function renderKedaMarkdown(r: KedaResults, notes?: string): string {
  const lines = [
    `Measured ${r.date.slice(0, 10)} with \`npm run bench -- --scenario keda\`: KEDA ${r.keda}; ${r.node}.`,
    '',
    '![kjd and KEDA: time from enqueue to the worker starting, and Jobs per item](keda.svg)',
    '',
  ];
  for (const s of r.scenarios) {
    lines.push(
      `**${s.name}**: ${s.describe}.`,
      '',
      '| contender | Jobs | duplicates (empty pops, worked twice) | lost (left queued) | start p50 | start p99 | API requests/item |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    const row = (name: string, f: Figures) =>
      `| ${name} | ${String(f.jobs)} | ${String(f.duplicates)} (${String(f.emptyPops)}, ${String(f.workedTwice)}) | ${String(f.lost)} (${String(f.leftInQueue)}) | ${seconds(f.p50StartMs)} | ${seconds(f.p99StartMs)} | ${String(f.requestsPerItem)} |`;
    lines.push(row('**kjd** (defaults)', s.kjd));
    for (const k of s.kjdSettingsTried ?? []) lines.push(row(`kjd: ${k.setting}`, k));
    for (const k of s.kedaSettingsTried) lines.push(row(`KEDA: ${k.setting}`, k));
    lines.push('');
  }
  if (notes?.trim()) lines.push(notes.trim());
  return lines.join('\n').trimEnd();
}

/** One panel per scenario: a bar per contender for the p50 start, a tick at p99, the Jobs/item beside it. */
export function renderKedaSvg(r: KedaResults): string {
  const rowH = 26;
  const panelGap = 44;
  const left = 360;
  const width = 900;
  const plotW = width - left - 170;
  const rows = r.scenarios.map((s) => [
    { name: 'kjd (defaults)', f: s.kjd, color: '#1f5fbf' },
    ...(s.kjdSettingsTried ?? []).map((k) => ({
      name: `kjd: ${k.setting}`,
      f: k,
      color: '#17a3b8',
    })),
    ...s.kedaSettingsTried.map((k) => ({ name: `KEDA: ${k.setting}`, f: k, color: '#c2410c' })),
  ]);
  const height = 40 + rows.reduce((h, rs) => h + rs.length * rowH + panelGap, 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="22" font-size="14" font-weight="bold">Enqueue to worker start (bar p50, tick p99) and Jobs per item, same items, same node</text>`,
  ];
  let y = 40;
  r.scenarios.forEach((s, i) => {
    const rs = rows[i] ?? [];
    const max = Math.max(1, ...rs.map((x) => (Number.isFinite(x.f.p99StartMs) ? x.f.p99StartMs : 0)));
    const scale = (ms: number) => (Number.isFinite(ms) ? (ms / max) * plotW : 0);
    out.push(
      `<text x="12" y="${String(y + 14)}" font-size="13" font-weight="bold">${escapeXml(s.name)}</text>`,
    );
    y += 22;
    for (const x of rs) {
      const perItem = (x.f.jobs / s.items).toFixed(2);
      out.push(
        `<text x="${String(left - 8)}" y="${String(y + 15)}" font-size="11" text-anchor="end">${escapeXml(x.name.length > 58 ? `${x.name.slice(0, 56)}…` : x.name)}</text>`,
        `<rect x="${String(left)}" y="${String(y + 4)}" width="${scale(x.f.p50StartMs).toFixed(1)}" height="${String(rowH - 10)}" fill="${x.color}"/>`,
        `<line x1="${(left + scale(x.f.p99StartMs)).toFixed(1)}" x2="${(left + scale(x.f.p99StartMs)).toFixed(1)}" y1="${String(y + 2)}" y2="${String(y + rowH - 4)}" stroke="#222" stroke-width="2"/>`,
        `<text x="${(left + plotW + 8).toFixed(1)}" y="${String(y + 15)}" font-size="11">${seconds(x.f.p50StartMs)} · ${perItem} Jobs/item</text>`,
      );
      y += rowH;
    }
    y += panelGap - 22;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export const KEDA_RESULTS = join(repoRoot, 'bench', 'results', 'keda.json');

const KEDA_NOTES = join(repoRoot, 'bench', 'keda-notes.md');

/** The last head-to-head's figures, if it has been run here. */
export async function readKedaResults(file = KEDA_RESULTS): Promise<KedaResults | undefined> {
  const text = await readOptional(file);
  return text === undefined ? undefined : (JSON.parse(text) as KedaResults);
}

/** The head-to-head's section of docs/benchmarks.md, with its notes; undefined when it has not been run. */
export async function kedaSection(): Promise<string | undefined> {
  const results = await readKedaResults();
  return results === undefined ? undefined : renderKedaMarkdown(results, await readOptional(KEDA_NOTES));
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writeKedaSvg(r: KedaResults, docsDir = join(repoRoot, 'docs')): Promise<void> {
  await writeFile(join(docsDir, 'keda.svg'), renderKedaSvg(r));
}
