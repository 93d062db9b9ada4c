// The end-to-end benchmark (bench/e2e.ts): its result file, the summary
// latest.json carries (issue 16's field names), and the section and chart of
// docs/benchmarks.md that bench/report.ts renders from bench/results/e2e.json.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../harness/paths.ts';
import type { Percentiles } from './results.ts';
import { median, round } from './stats.ts';
import { escapeXml } from './svg.ts';

export const E2E_RESULTS = 'e2e.json';

/** batchPod: batch mode with several items run one after another in each Pod (itemsPerPod). */
/** kjdBaseline: kjd from another build (`--baseline-entry`), beside this one: an A/B in the same run. */
export type E2eContender = 'ceiling' | 'kjd' | 'batch' | 'batchPod' | 'kjdBaseline';

export interface E2eRun {
  readonly contender: E2eContender;
  readonly items: number;
  /** Items done: a result readable in Redis (kjd), a Job Complete (ceiling). */
  readonly finished: number;
  readonly jobs: number;
  readonly itemsPerSecond: number;
  readonly wallSeconds: number;
  readonly enqueueToDoneMs: Percentiles;
  /** CPU ms per finished item of each control-plane process, and of the contender itself. */
  readonly cpuMsPerItem: Readonly<Record<string, number>>;
  readonly contenderPeakRssMB: number;
  /** API requests served per finished item, all clients, by `VERB resource` (apiserver_request_total). */
  readonly requestsPerItem: Readonly<Record<string, number>>;
}

/** One controller-manager setting, issue 16's names. */
export interface E2eSummary {
  readonly kjdItemsPerSecond: number;
  readonly ceilingItemsPerSecond: number;
  readonly batchItemsPerSecond: number | null;
  readonly kjdApiserverCpuMsPerItem: number;
  readonly ceilingApiserverCpuMsPerItem: number;
  readonly batchApiserverCpuMsPerItem: number | null;
  /** kjd / ceiling items/s (target >= 0.9) and API-server CPU per item (target <= 1.1). */
  readonly itemsRatio: number;
  readonly apiserverCpuRatio: number;
  readonly batchMultiple: number | null;
  /** Batch mode with itemsPerPod > 1 (absent in runs from before it existed). */
  readonly batchPodItemsPerSecond?: number | null;
  readonly batchPodApiserverCpuMsPerItem?: number | null;
  readonly batchPodMultiple?: number | null;
}

export interface E2eResults {
  readonly date: string;
  readonly machine: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly settings: Record<string, { readonly controllerManager: string; readonly runs: readonly E2eRun[] }>;
  summary?: Record<string, E2eSummary>;
}

const med = (runs: readonly E2eRun[], c: E2eContender, pick: (r: E2eRun) => number): number | null => {
  const values = runs.filter((r) => r.contender === c).map(pick);
  return values.length === 0 ? null : median(values);
};

const orNull = (v: number | null, digits: number): number | null => (v === null ? null : round(v, digits));

/** `rate (multiple×)`, or n/a for a contender not in the run. */
const withMultiple = (rate: number | null | undefined, multiple: number | null | undefined): string =>
  rate === null || rate === undefined ? 'n/a' : `${String(rate)} (${String(multiple)}×)`;

export function summarizeE2e(r: E2eResults): Record<string, E2eSummary> {
  const out: Record<string, E2eSummary> = {};
  for (const [name, s] of Object.entries(r.settings)) {
    const rate = (c: E2eContender) => med(s.runs, c, (x) => x.itemsPerSecond);
    const api = (c: E2eContender) => med(s.runs, c, (x) => x.cpuMsPerItem['kube-apiserver'] ?? 0);
    const kjd = rate('kjd') ?? 0;
    const ceiling = rate('ceiling') ?? 0;
    const kjdApi = api('kjd') ?? 0;
    const ceilingApi = api('ceiling') ?? 0;
    const multiple = (c: E2eContender) => {
      const r = rate(c);
      return r === null || kjd === 0 ? null : round(r / kjd, 1);
    };
    out[name] = {
      kjdItemsPerSecond: round(kjd, 1),
      ceilingItemsPerSecond: round(ceiling, 1),
      batchItemsPerSecond: orNull(rate('batch'), 1),
      kjdApiserverCpuMsPerItem: round(kjdApi, 2),
      ceilingApiserverCpuMsPerItem: round(ceilingApi, 2),
      batchApiserverCpuMsPerItem: orNull(api('batch'), 2),
      itemsRatio: ceiling > 0 ? round(kjd / ceiling, 2) : 0,
      apiserverCpuRatio: ceilingApi > 0 ? round(kjdApi / ceilingApi, 2) : 0,
      batchMultiple: multiple('batch'),
      batchPodItemsPerSecond: orNull(rate('batchPod'), 1),
      batchPodApiserverCpuMsPerItem: orNull(api('batchPod'), 2),
      batchPodMultiple: multiple('batchPod'),
    };
  }
  return out;
}

const COMPONENTS = [
  'kube-apiserver',
  'etcd',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'contender',
];

export function renderE2eMarkdown(r: E2eResults, notes?: string): string {
  const o = r.options;
  const lines = [
    `Measured ${r.date.slice(0, 10)} with \`npm run bench -- --scenario e2e\` on ${r.machine}: ` +
      `${String(o.items)} items at once per run, kwok Pods that run ${String(o.podMs)} ms and succeed, ` +
      `${String(o.repetitions)} repetitions per contender, medians. An item is finished when its result is ` +
      'readable in Redis (kjd) or its Job is Complete (the raw creator, which writes no results).',
    '',
    '![Items finished per second and API-server CPU per item](e2e.svg)',
    '',
    `| controller manager | kjd items/s | raw creator items/s | ratio (≥ 0.9) | batch items/s (× kjd) | batch, ${typeof o.batchItemsPerPod === 'number' ? String(o.batchItemsPerPod) : '–'} items per Pod, items/s (× kjd) | API-server CPU ms/item kjd / raw / batch / per Pod | ratio (≤ 1.1) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, s] of Object.entries(r.summary ?? {})) {
    const setting =
      r.settings[name]?.controllerManager === 'upstream' ? 'Kubernetes defaults' : 'harness-tuned';
    const batch = withMultiple(s.batchItemsPerSecond, s.batchMultiple);
    const perPod = withMultiple(s.batchPodItemsPerSecond, s.batchPodMultiple);
    lines.push(
      `| ${name} (${setting}) | ${String(s.kjdItemsPerSecond)} | ${String(s.ceilingItemsPerSecond)} | ` +
        `${String(s.itemsRatio)} ${s.itemsRatio >= 0.9 ? '✓' : '✗'} | ${batch} | ${perPod} | ` +
        `${String(s.kjdApiserverCpuMsPerItem)} / ${String(s.ceilingApiserverCpuMsPerItem)} / ${String(s.batchApiserverCpuMsPerItem ?? 'n/a')} / ${String(s.batchPodApiserverCpuMsPerItem ?? 'n/a')} | ` +
        `${String(s.apiserverCpuRatio)} ${s.apiserverCpuRatio <= 1.1 ? '✓' : '✗'} |`,
    );
  }
  lines.push(
    '',
    'CPU ms per finished item by process (medians), which says which component bounds what:',
    '',
  );
  lines.push(`| setting | contender | ${COMPONENTS.join(' | ')} | enqueue → done p50 / p99 |`);
  lines.push(`| --- | --- | ${COMPONENTS.map(() => '---:').join(' | ')} | ---: |`);
  for (const [name, s] of Object.entries(r.settings)) {
    for (const c of ['ceiling', 'kjd', 'batch', 'batchPod'] as const) {
      const runs = s.runs.filter((x) => x.contender === c);
      if (runs.length === 0) continue;
      const cells = COMPONENTS.map((k) => String(round(median(runs.map((x) => x.cpuMsPerItem[k] ?? 0)), 2)));
      const p50 = median(runs.map((x) => x.enqueueToDoneMs.p50)) / 1000;
      const p99 = median(runs.map((x) => x.enqueueToDoneMs.p99)) / 1000;
      lines.push(`| ${name} | ${c} | ${cells.join(' | ')} | ${p50.toFixed(1)} s / ${p99.toFixed(1)} s |`);
    }
  }
  if (notes?.trim()) lines.push('', notes.trim());
  return lines.join('\n');
}

/** Two panels per setting: items/s and API-server CPU per item, a bar per contender. */
export function renderE2eSvg(r: E2eResults): string {
  const entries = Object.entries(r.summary ?? {});
  const rowH = 24;
  const left = 250;
  const width = 860;
  const plotW = (width - left - 60) / 2;
  const rows = entries.flatMap(([name, s]) => [
    {
      label: `${name}: raw creator`,
      rate: s.ceilingItemsPerSecond,
      api: s.ceilingApiserverCpuMsPerItem,
      color: '#6b7280',
    },
    {
      label: `${name}: kjd (defaults)`,
      rate: s.kjdItemsPerSecond,
      api: s.kjdApiserverCpuMsPerItem,
      color: '#1f5fbf',
    },
    ...(s.batchItemsPerSecond === null
      ? []
      : [
          {
            label: `${name}: kjd batch`,
            rate: s.batchItemsPerSecond,
            api: s.batchApiserverCpuMsPerItem ?? 0,
            color: '#17a3b8',
          },
        ]),
    ...(s.batchPodItemsPerSecond === null || s.batchPodItemsPerSecond === undefined
      ? []
      : [
          {
            label: `${name}: kjd batch, items per Pod`,
            rate: s.batchPodItemsPerSecond,
            api: s.batchPodApiserverCpuMsPerItem ?? 0,
            color: '#0e7a5f',
          },
        ]),
  ]);
  const maxRate = Math.max(1, ...rows.map((x) => x.rate));
  const maxApi = Math.max(0.1, ...rows.map((x) => x.api));
  const height = 60 + rows.length * rowH;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">End to end: items finished per second, and API-server CPU ms per item</text>`,
    `<text x="${String(left)}" y="42">items/s</text>`,
    `<text x="${String(left + plotW + 30)}" y="42">API-server CPU ms/item</text>`,
  ];
  rows.forEach((x, i) => {
    const y = 52 + i * rowH;
    const w1 = (x.rate / maxRate) * (plotW - 50);
    const w2 = (x.api / maxApi) * (plotW - 50);
    out.push(
      `<text x="${String(left - 8)}" y="${String(y + 14)}" text-anchor="end">${escapeXml(x.label)}</text>`,
      `<rect x="${String(left)}" y="${String(y + 3)}" width="${w1.toFixed(1)}" height="${String(rowH - 8)}" fill="${x.color}"/>`,
      `<text x="${(left + w1 + 4).toFixed(1)}" y="${String(y + 14)}">${String(x.rate)}</text>`,
      `<rect x="${String(left + plotW + 30)}" y="${String(y + 3)}" width="${w2.toFixed(1)}" height="${String(rowH - 8)}" fill="${x.color}"/>`,
      `<text x="${(left + plotW + 34 + w2).toFixed(1)}" y="${String(y + 14)}">${String(x.api)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** bench/results/e2e.json, or undefined before the first run. */
export async function readE2eResults(): Promise<E2eResults | undefined> {
  const text = await readOptional(join(repoRoot, 'bench', 'results', E2E_RESULTS));
  return text === undefined ? undefined : (JSON.parse(text) as E2eResults);
}

/** The end-to-end section of docs/benchmarks.md with its notes (bench/e2e-notes.md), and its chart. */
export async function e2eSection(docsDir: string): Promise<string | undefined> {
  const r = await readE2eResults();
  if (r === undefined) return undefined;
  await writeFile(join(docsDir, 'e2e.svg'), renderE2eSvg(r));
  return renderE2eMarkdown(r, await readOptional(join(repoRoot, 'bench', 'e2e-notes.md')));
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
