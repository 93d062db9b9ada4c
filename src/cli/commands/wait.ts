import type { Command } from 'commander';
import type { JobState } from '../../kube/job-status.ts';
import { containerOutcome, describeOutcome } from '../../kube/pod-outcome.ts';
import { waitForJob } from '../../kube/wait.ts';
import { parseDurationMs } from '../../time/duration.ts';
import type { CliContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { describeState, progressReporter } from '../progress.ts';

/** Waits for the Job, shows progress, and returns the exit code its outcome means. */
export async function waitAndReport(ctx: CliContext, name: string, timeout: string): Promise<number> {
  const progress = progressReporter(ctx.io, name);
  try {
    const { state } = await waitForJob(ctx.jobs, ctx.client.transport, name, {
      namespace: ctx.namespace,
      timeoutMs: parseDurationMs(timeout),
      onChange: (s) => {
        progress.update(s);
      },
    });
    progress.done();
    ctx.print(describeState(name, state));
    const outcome = await outcomeLine(ctx, name, state);
    if (outcome !== undefined) ctx.print(outcome);
    return state.phase === 'Succeeded' ? EXIT.OK : EXIT.JOB_FAILED;
  } finally {
    progress.done();
  }
}

/**
 * The container's own word on how it ended (exit code, termination message),
 * read from the Job's Pods. Best effort: Pods already gone, or no right to
 * list them, only leave the line out.
 */
async function outcomeLine(ctx: CliContext, name: string, state: JobState): Promise<string | undefined> {
  if (state.phase !== 'Succeeded' && state.phase !== 'Failed') return undefined;
  try {
    const outcome = containerOutcome(await ctx.jobs.pods(name, ctx.namespace), state.phase);
    return outcome === undefined ? undefined : describeOutcome(outcome);
  } catch {
    return undefined;
  }
}

export function registerWait(program: Command, ctx: CliContext): void {
  program
    .command('wait')
    .description('wait for a Job to finish; exit 0 if it succeeded, 3 if it failed, 4 on timeout')
    .argument('<name>', 'Job name')
    .option('--timeout <duration>', 'give up after this long', '10m')
    .action(async (name: string, opts: { timeout: string }, cmd: Command) => {
      ctx.use(cmd);
      ctx.exitCode = await waitAndReport(ctx, name, opts.timeout);
    });
}
