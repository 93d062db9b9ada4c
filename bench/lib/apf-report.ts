// The "Under API Priority and Fairness" section of docs/benchmarks.md, from
// bench/results/apf.json (`npm run bench -- --scenario apf`).
import type { ApfResults, ApfRun } from '../apf.ts';
import { readScenario } from './scenario-files.ts';
import { median, round } from './stats.ts';

const LABELS: Readonly<Record<ApfRun['contender'], string>> = {
  ceiling: 'raw creator (Go client-go, 32 workers; its 429s retried by client-go): the level’s capacity',
  kjdDefault: 'kjd serve, default settings (adaptive pacing)',
  kjd: 'kjd serve, fixed pacing (qps 1000, burst 2000)',
  kjdFloor: 'floor: kjd’s render and transport alone (Node, 32 in flight, no Redis, no watch)',
};

/** The median of a figure older runs did not record, or n/a. */
const optional = (xs: readonly (number | undefined)[]): string => {
  const known = xs.filter((x): x is number => x !== undefined);
  return known.length === 0 ? 'n/a' : String(round(median(known), 2));
};

export function renderApfMarkdown(r: ApfResults): string {
  const s = r.summary;
  const lines = [
    `Measured ${r.date.slice(0, 10)} with \`npm run bench -- --scenario apf --items ${String(r.items)}\`: ` +
      `a PriorityLevelConfiguration \`${r.level.name}\` of ${String(r.level.shares)} share ` +
      `(${String(r.level.seats)} seats, no lending or borrowing, queues 16 × hand 4 × 50), and per contender a ` +
      'FlowSchema that puts only its ServiceAccount there. Each creates suspended Jobs for every item; ' +
      'requests and 429s are the API server’s own counts for that FlowSchema ' +
      '(`apiserver_flowcontrol_dispatched_requests_total`, `…_rejected_requests_total`). ' +
      `${r.machine}.`,
    '',
    '| contender | Jobs/s (median) | per run | requests dispatched | 429s | 429 share | lost | ms a request holds its seat | seats per request |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of ['ceiling', 'kjdFloor', 'kjdDefault', 'kjd'] as const) {
    const runs = r.runs.filter((x) => x.contender === c);
    if (runs.length === 0) continue;
    const dispatched = runs.reduce((n, x) => n + x.dispatched, 0);
    const rejected = runs.reduce((n, x) => n + x.rejected, 0);
    const share = dispatched + rejected === 0 ? 0 : rejected / (dispatched + rejected);
    lines.push(
      `| ${LABELS[c]} | ${String(round(median(runs.map((x) => x.jobsPerSecond)), 1))} | ` +
        `${runs.map((x) => String(round(x.jobsPerSecond, 0))).join(', ')} | ${String(dispatched)} | ` +
        `${String(rejected)} | ${(share * 100).toFixed(2)} % | ${String(runs.reduce((n, x) => n + (x.items - x.created), 0))} | ` +
        `${optional(runs.map((x) => x.seatMsPerRequest))} | ${optional(runs.map((x) => x.seatsPerRequest))} |`,
    );
  }
  const met = (ok: boolean) => (ok ? '✓' : '✗');
  lines.push(
    '',
    '| target (issue 16) | measured | met? |',
    '| --- | ---: | --- |',
    `| kjd at defaults ≥ 0.9 × the level’s capacity | ${String(s.ratio)} × (${String(s.kjdJobsPerSecond)} / ${String(s.ceilingJobsPerSecond)} Jobs/s) | ${met(s.ratio >= 0.9)} |`,
    `| 429s ≤ 2 % of kjd’s requests | ${(s.throttledFraction * 100).toFixed(2)} % | ${met(s.throttledFraction <= 0.02)} |`,
    `| no item lost | ${String(s.lost)} lost | ${met(s.lost === 0)} |`,
  );
  return lines.join('\n');
}

export async function apfSection(): Promise<string | undefined> {
  const found = await readScenario('apf.json', 'apf-notes.md');
  return found && [renderApfMarkdown(found.results as ApfResults), found.notes].filter(Boolean).join('\n\n');
}
