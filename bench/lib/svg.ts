// The chart of docs/benchmarks.svg, written by hand as an SVG string so the
// report needs no plotting dependency and the file diffs readably in git.
// Left: median Jobs/s per contender with the min–max spread of repetitions;
// right: the enqueue → created latency distribution of each contender.
import { CDF_QUANTILES, contendersIn } from './results.ts';
import type { BenchResults, ContenderName } from './results.ts';

const WIDTH = 900;
const HEIGHT = 380;
const FONT = 'font-family="sans-serif"';
/** Approximate advance of one character of the 11px legend, for layout only. */
const LEGEND_CHAR_WIDTH = 6.1;

/** Fixed so that a contender keeps its color from one report to the next. */
export const PALETTE: Readonly<Record<ContenderName, string>> = {
  kjd: '#1f5fbf',
  kjdDefault: '#17a3b8',
  ceiling: '#7a7a7a',
  kjdFloor: '#8e5bb5',
  seed000: '#e8780c',
  seed001: '#3a9a3a',
};

/** Same rule as the tables: integers from 100 Jobs/s up, one decimal below. */
export function formatJobsPerSecond(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

interface TextOptions {
  readonly size?: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly bold?: boolean;
  readonly fill?: string;
  readonly rotate?: boolean;
}

function text(x: number, y: number, content: string, o: TextOptions = {}): string {
  const attrs = [
    `x="${num(x)}"`,
    `y="${num(y)}"`,
    `font-size="${o.size ?? 12}"`,
    `text-anchor="${o.anchor ?? 'start'}"`,
    `fill="${o.fill ?? '#222'}"`,
  ];
  if (o.bold === true) attrs.push('font-weight="bold"');
  if (o.rotate === true) attrs.push(`transform="rotate(-90 ${num(x)} ${num(y)})"`);
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}" stroke-width="${width}"/>`;
}

/** About five round ticks (1, 2 or 5 × 10^k apart) from 0 to at least max. */
export function linearTicks(max: number): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = 0; t <= top + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < top) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** 1, 2, 5 × 10^k inside [min, max]; `major` marks the powers of ten. */
export function logTicks(min: number, max: number): { value: number; major: boolean }[] {
  const ticks: { value: number; major: boolean }[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const value = Number((m * 10 ** e).toPrecision(6));
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) ticks.push({ value, major: m === 1 });
    }
  }
  return ticks;
}

function formatMsTick(v: number): string {
  return v >= 1000 ? `${Number((v / 1000).toPrecision(6))}k` : String(v);
}

/** Real labels run to 50 characters: each goes above its bar, not beside it. */
const BAR = { top: 44, bottom: 250, left: 16, right: 405 } as const;
const MAX_LABEL = 58;

function clip(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

function throughputPanel(results: BenchResults): string {
  const rows = contendersIn(results).map((name) => ({ name, s: results.contenders[name] }));
  const left = BAR.left;
  const highest = Math.max(...rows.flatMap((r) => [r.s.jobsPerSecond, ...r.s.jobsPerSecondRuns]));
  // Leave room right of the longest bar for its value label.
  const ticks = linearTicks(highest * 1.18);
  const scaleMax = ticks.at(-1) ?? 1;
  const x = (v: number): number => left + (Math.max(0, v) / scaleMax) * (BAR.right - left);
  const out: string[] = [
    text(BAR.left, 24, `Jobs created per second (median of ${results.settings.repetitions})`, {
      size: 14,
      bold: true,
    }),
  ];
  for (const t of ticks) {
    out.push(line(x(t), BAR.top, x(t), BAR.bottom, '#e4e4e4'));
    out.push(text(x(t), BAR.bottom + 16, String(t), { size: 11, anchor: 'middle' }));
  }
  out.push(line(left, BAR.top, left, BAR.bottom, '#888'));
  out.push(
    text((left + BAR.right) / 2, BAR.bottom + 36, 'Jobs/s (whisker: min–max of repetitions)', {
      anchor: 'middle',
    }),
  );
  const slot = (BAR.bottom - BAR.top) / rows.length;
  rows.forEach((r, i) => {
    // Label on the slot's first line, the bar below it.
    const height = Math.min(22, slot - 22);
    out.push(text(left, BAR.top + slot * i + 13, clip(r.s.label), { bold: r.name === 'kjd' }));
    out.push(...bar(r.name, r.s, BAR.top + slot * i + 18 + height / 2, height, x));
  });
  return out.join('\n');
}

function bar(
  name: ContenderName,
  s: BenchResults['contenders'][ContenderName],
  cy: number,
  height: number,
  x: (v: number) => number,
): string[] {
  const kjd = name === 'kjd';
  const x0 = x(0);
  const lo = Math.min(...s.jobsPerSecondRuns, s.jobsPerSecond);
  const hi = Math.max(...s.jobsPerSecondRuns, s.jobsPerSecond);
  const cap = height * 0.3;
  return [
    `<rect x="${num(x0)}" y="${num(cy - height / 2)}" width="${num(x(s.jobsPerSecond) - x0)}" height="${num(height)}" fill="${PALETTE[name]}"${kjd ? ' stroke="#0b2f66" stroke-width="2"' : ''}/>`,
    line(x(lo), cy, x(hi), cy, '#111'),
    line(x(lo), cy - cap, x(lo), cy + cap, '#111'),
    line(x(hi), cy - cap, x(hi), cy + cap, '#111'),
    text(Math.max(x(hi), x(s.jobsPerSecond)) + 6, cy + 4, formatJobsPerSecond(s.jobsPerSecond), {
      bold: kjd,
    }),
  ];
}

const CDF = { left: 515, right: 880, top: 44, bottom: 250, panelLeft: 455 } as const;

function latencyRange(results: BenchResults): { min: number; max: number } {
  const all = contendersIn(results)
    .flatMap((n) => results.contenders[n].latencyCdfMs)
    .filter(Number.isFinite);
  const min = Math.max(0.5, Math.min(...all));
  const max = Math.max(...all);
  // A degenerate range (one value, or nothing) still needs a width to draw.
  return Number.isFinite(max) && max > min ? { min, max } : { min, max: min * 10 };
}

function latencyPanel(results: BenchResults): string {
  const { min, max } = latencyRange(results);
  const x = (v: number): number =>
    CDF.left +
    ((Math.log10(Math.min(max, Math.max(min, v))) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) *
      (CDF.right - CDF.left);
  const y = (pct: number): number => CDF.bottom - (pct / 100) * (CDF.bottom - CDF.top);
  const out: string[] = [
    text(CDF.panelLeft, 24, 'Latency distribution, enqueue → Job created', { size: 14, bold: true }),
  ];
  for (const pct of [0, 25, 50, 75, 90, 100]) {
    out.push(line(CDF.left, y(pct), CDF.right, y(pct), '#e4e4e4'));
    out.push(text(CDF.left - 6, y(pct) + 4, String(pct), { size: 11, anchor: 'end' }));
  }
  const ticks = logTicks(min, max);
  // Past three decades the 2× and 5× labels would collide; keep their grid lines.
  const labelMinor = Math.log10(max / min) <= 3;
  for (const t of ticks) {
    out.push(line(x(t.value), CDF.top, x(t.value), CDF.bottom, t.major ? '#d4d4d4' : '#eeeeee'));
    if (t.major || labelMinor) {
      out.push(text(x(t.value), CDF.bottom + 16, formatMsTick(t.value), { size: 11, anchor: 'middle' }));
    }
  }
  out.push(line(CDF.left, CDF.bottom, CDF.right, CDF.bottom, '#888'));
  out.push(line(CDF.left, CDF.top, CDF.left, CDF.bottom, '#888'));
  out.push(
    text((CDF.left + CDF.right) / 2, CDF.bottom + 36, 'enqueue → Job created (ms, log scale)', {
      anchor: 'middle',
    }),
  );
  out.push(text(CDF.left - 34, (CDF.top + CDF.bottom) / 2, '% of items', { anchor: 'middle', rotate: true }));
  // kjd last, so its line is drawn on top of the others.
  const order = [...contendersIn(results).filter((n) => n !== 'kjd'), 'kjd' as const];
  for (const name of order) out.push(cdfLine(name, results.contenders[name].latencyCdfMs, x, y));
  out.push(legend(results));
  return out.join('\n');
}

function cdfLine(
  name: ContenderName,
  values: readonly number[],
  x: (v: number) => number,
  y: (pct: number) => number,
): string {
  const points = CDF_QUANTILES.flatMap((q, i) => {
    const v = values[i];
    return v === undefined || !Number.isFinite(v) ? [] : [`${num(x(v))},${num(y(q))}`];
  });
  const width = name === 'kjd' ? 3 : 1.75;
  return `<polyline points="${points.join(' ')}" fill="none" stroke="${PALETTE[name]}" stroke-width="${width}" stroke-linejoin="round"/>`;
}

/** Below the latency panel, flowing into as many rows as the labels need. */
function legend(results: BenchResults): string {
  const out: string[] = [];
  let x: number = CDF.panelLeft;
  let y: number = CDF.bottom + 54;
  for (const name of contendersIn(results)) {
    const label = results.contenders[name].label;
    const width = 22 + clip(label).length * LEGEND_CHAR_WIDTH + 18;
    if (x + width > WIDTH - 8 && x > CDF.panelLeft) {
      x = CDF.panelLeft;
      y += 15;
    }
    out.push(line(x, y - 4, x + 18, y - 4, PALETTE[name], name === 'kjd' ? 3 : 2));
    out.push(text(x + 22, y, clip(label), { size: 11, bold: name === 'kjd' }));
    x += width;
  }
  return out.join('\n');
}

export function renderSvg(results: BenchResults): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT}>`,
    `<title>kjd benchmarks: throughput and latency per contender</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    throughputPanel(results),
    latencyPanel(results),
    '</svg>',
    '',
  ].join('\n');
}
