// What `launch` and `render` share: read the template, collect --set values,
// render the Job for the chosen namespace.
import type { Command } from 'commander';
import type { V1Job } from '@kubernetes/client-node';
import { jobNameFor, loadTemplate } from '../../template/index.ts';
import type { CliContext } from '../context.ts';
import { UsageError } from '../output.ts';

export interface RenderFlags {
  readonly file: string;
  readonly set: readonly string[];
  readonly values?: string;
  readonly id?: string;
}

export function addRenderOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-f, --file <path>', 'Job template (YAML)')
    .option(
      '--set <NAME=VALUE>',
      'a parameter value (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--values <json>', 'parameter values as a JSON object (the item payload)')
    .option(
      '--id <request-id>',
      'request id: the Job gets a deterministic name, so the same id never makes two Jobs',
    );
}

function parseValues(flags: RenderFlags): Record<string, unknown> {
  let values: Record<string, unknown> = {};
  if (flags.values !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.values);
    } catch (err) {
      throw new UsageError(`--values is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new UsageError('--values must be a JSON object');
    values = { ...(parsed as Record<string, unknown>) };
  }
  for (const pair of flags.set) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects NAME=VALUE, got "${pair}"`);
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return values;
}

/** The namespace a launch goes to: -n, else the template's, else the context's. */
export async function renderJob(
  ctx: CliContext,
  flags: RenderFlags,
  needCluster: boolean,
): Promise<{ job: V1Job; namespace: string }> {
  const template = await loadTemplate(flags.file);
  const values = parseValues(flags);
  const namespace =
    ctx.globals.namespace ?? template.namespace ?? (needCluster ? ctx.namespace : undefined) ?? 'default';
  const job = template.render({
    values,
    payload: values,
    namespace,
    ...(flags.id !== undefined ? { requestId: flags.id } : {}),
  });
  job.metadata ??= {};
  job.metadata.name ??= jobNameFor(template.name, flags.id);
  return { job, namespace };
}
