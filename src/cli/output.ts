// How Jobs are printed: -o table (default), json, yaml, name.
import type { V1Job } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { jobState } from '../kube/job-status.ts';
import { ANNOTATION_REQUEST_ID } from '../kube/labels.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutput(value: string | undefined): OutputFormat {
  const v = value ?? 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new UsageError(`unknown output format "${v}" (expected one of: ${OUTPUT_FORMATS.join(', ')})`);
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const plain = (o: unknown): unknown => JSON.parse(JSON.stringify(o));

/** One Job prints as the object (get), several as a List (list), as kubectl does. */
export function formatJobs(jobs: readonly V1Job[] | V1Job, format: OutputFormat, now = Date.now()): string {
  const rows: readonly V1Job[] = isList(jobs) ? jobs : [jobs];
  const doc = isList(jobs) ? { apiVersion: 'v1', kind: 'List', items: jobs } : jobs;
  switch (format) {
    case 'json':
      return JSON.stringify(doc, null, 2);
    case 'yaml':
      return stringify(plain(doc));
    case 'name':
      return rows.map((j) => `job.batch/${j.metadata?.name ?? ''}`).join('\n');
    case 'table':
      return table(rows, now);
  }
}

const isList = (jobs: readonly V1Job[] | V1Job): jobs is readonly V1Job[] => Array.isArray(jobs);

function table(jobs: readonly V1Job[], now: number): string {
  const rows = jobs.map((j) => {
    const s = jobState(j);
    const created = j.metadata?.creationTimestamp;
    return [
      j.metadata?.name ?? '',
      s.reason === undefined ? s.phase : `${s.phase} (${s.reason})`,
      `${s.succeeded}/${j.spec?.completions ?? 1}`,
      String(s.active),
      String(s.failed),
      created === undefined ? '' : age(now - new Date(created).getTime()),
      j.metadata?.annotations?.[ANNOTATION_REQUEST_ID] ?? '',
    ];
  });
  const header = ['NAME', 'STATUS', 'COMPLETIONS', 'ACTIVE', 'FAILED', 'AGE', 'REQUEST-ID'];
  return columns([header, ...rows]);
}

export function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
