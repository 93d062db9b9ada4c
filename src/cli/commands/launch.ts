import type { Command } from 'commander';
import { streamJobLogs } from '../../kube/logs.ts';
import type { CliContext } from '../context.ts';
import { formatJobs, parseOutput } from '../output.ts';
import { waitAndReport } from './wait.ts';
import { addRenderOptions, renderJob, type RenderFlags } from './render-options.ts';

interface LaunchFlags extends RenderFlags {
  readonly wait?: boolean;
  readonly logs?: boolean;
  readonly timeout: string;
}

export function registerLaunch(program: Command, ctx: CliContext): void {
  addRenderOptions(program.command('launch'))
    .description(
      'create a Job from a template; with --wait, follow it and exit 0 (succeeded), 3 (failed) or 4 (timeout)',
    )
    .option('--wait', 'wait for the Job to finish')
    .option('--logs', "print the Job's logs when it finishes (implies --wait)")
    .option('--timeout <duration>', 'how long --wait waits', '10m')
    .action(async (flags: LaunchFlags, cmd: Command) => {
      ctx.use(cmd);
      const format = parseOutput(ctx.globals.output);
      const { job, namespace } = await renderJob(ctx, flags, true);
      const name = job.metadata?.name ?? '';
      const result = await ctx.jobs.create(job, { namespace });
      if (format === 'table')
        ctx.print(`job.batch/${name} ${result.created ? 'created' : 'already exists for this request id'}`);
      else ctx.print(formatJobs(result.job, format));
      if (flags.wait !== true && flags.logs !== true) return;
      const code = await waitAndReport(ctx.use(cmd).withNamespace(namespace), name, flags.timeout);
      if (flags.logs === true)
        await streamJobLogs(ctx.client, ctx.jobs, name, ctx.io.stdout as never, { namespace });
      ctx.exitCode = code;
    });
}
