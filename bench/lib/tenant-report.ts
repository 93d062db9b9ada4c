// The "A second tenant" section of docs/benchmarks.md, from
// bench/results/tenant.json (`npm run bench -- --scenario tenant`).
import type { TenantResults, TenantRun } from '../tenant.ts';
import { readScenario } from './scenario-files.ts';
import { median, round } from './stats.ts';

const PHASES: readonly { readonly phase: TenantRun['phase']; readonly label: string }[] = [
  { phase: 'alone', label: 'alone' },
  { phase: 'shared', label: 'beside kjd serve, default settings (adaptive pacing)' },
  { phase: 'control', label: 'beside a second raw creator (control)' },
];

const sum = (xs: readonly number[]): number => xs.reduce((n, x) => n + x, 0);
const rate = (xs: readonly number[]): string => String(round(median(xs), 1));

export function renderTenantMarkdown(r: TenantResults): string {
  const s = r.summary;
  const placements = new Set(
    r.runs.flatMap((run) =>
      [run.tenant, run.other].flatMap((side) =>
        side === undefined ? [] : [`\`${side.placement.flowSchema}\` → \`${side.placement.priorityLevel}\``],
      ),
    ),
  );
  const lines = [
    `Measured ${r.date.slice(0, 10)} with \`npm run bench -- --scenario tenant --jobs ${String(r.jobs)}\`: ` +
      `another tenant’s raw creator (Go client-go, ${String(r.ceilingWorkers)} workers, no client-side limit) ` +
      `creates ${String(r.jobs)} suspended Jobs in its own namespace under its own ServiceAccount: alone; ` +
      `while kjd at ${Object.keys(r.kjdSettings).length === 0 ? 'its defaults' : `its defaults but ${JSON.stringify(r.kjdSettings)}`} ` +
      '(adaptive pacing, the chart’s Node flags) drains a burst of ' +
      `${String(r.kjdItems)} items on its own queue in another namespace, both started at the same moment; ` +
      'and, as a control, beside a second raw creator in kjd’s place. ' +
      `Where the cluster’s default FlowSchemas put each ServiceAccount (read from its answers’ ` +
      `\`X-Kubernetes-PF-*\` headers): ${[...placements].join(', ')} ` +
      `(${String(r.level.seats)} nominal seats here), each user a flow of its own. ` +
      'The tenant’s Jobs/s run from its first Job to its last; the other side’s Jobs/s and share count only ' +
      'its Jobs created in that window. 429s are the API server’s own counts ' +
      '(`apiserver_flowcontrol_rejected_requests_total`, a FlowSchema per ServiceAccount at that same level). ' +
      `${r.machine}.`,
    '',
    '| the tenant… | tenant Jobs/s (median) | per run | × alone | other side’s Jobs/s in the window | its share | tenant 429s | other side’s 429s | other side lost |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { phase, label } of PHASES) {
    const runs = r.runs.filter((x) => x.phase === phase);
    if (runs.length === 0) continue;
    const tenant = runs.map((x) => x.tenant);
    const others = runs.flatMap((x) => (x.other === undefined ? [] : [x.other]));
    const times = phase === 'shared' ? s.ratio : phase === 'control' ? s.control?.ratio : 1;
    const other = (f: (o: (typeof others)[number]) => number, show: (xs: number[]) => string) =>
      others.length === 0 ? '–' : show(others.map(f));
    lines.push(
      `| ${label} | ${rate(tenant.map((t) => t.jobsPerSecond))} | ` +
        `${tenant.map((t) => String(round(t.jobsPerSecond, 0))).join(', ')} | ${String(times ?? 'n/a')} | ` +
        `${other((o) => o.jobsPerSecondShared, rate)} | ${other(
          (o) => o.share,
          (xs) => String(round(median(xs), 2)),
        )} | ` +
        `${String(sum(tenant.map((t) => t.rejected)))} | ${other(
          (o) => o.rejected,
          (xs) => String(sum(xs)),
        )} | ` +
        `${other(
          (o) => o.items - o.created,
          (xs) => String(sum(xs)),
        )} |`,
    );
  }
  const met = (ok: boolean) => (ok ? '✓' : '✗');
  lines.push(
    '',
    '| target (issue 16) | measured | met? |',
    '| --- | ---: | --- |',
    `| beside kjd at defaults, the tenant keeps ≥ ${String(s.target)} × its Jobs/s alone (its fair share of two) | ` +
      `${String(s.ratio)} × (${String(s.tenantSharedJobsPerSecond)} / ${String(s.tenantAloneJobsPerSecond)} Jobs/s; ` +
      `kjd ${String(s.kjdSharedJobsPerSecond)} Jobs/s, ${String(Math.round(s.kjdShare * 100))} % of the Jobs in the window) | ` +
      `${met(s.ratio >= s.target)} |`,
    `| no kjd item lost (its Jobs listed from the cluster) | ${String(s.lost)} lost | ${met(s.lost === 0)} |`,
  );
  if (!s.windowShared)
    lines.push('', '**The other side finished before the tenant in some run: raise `--kjd-items`.**');
  return lines.join('\n');
}

export async function tenantSection(): Promise<string | undefined> {
  const found = await readScenario('tenant.json', 'tenant-notes.md');
  return (
    found && [renderTenantMarkdown(found.results as TenantResults), found.notes].filter(Boolean).join('\n\n')
  );
}
