import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatJobs, parseOutput } from '../output.ts';
import { addRenderOptions, renderJob, type RenderFlags } from './render-options.ts';

export function registerRender(program: Command, ctx: CliContext): void {
  addRenderOptions(program.command('render'))
    .description('print the Job a launch would create (client-side; --server-dry-run asks the API server)')
    .option('--server-dry-run', 'have the API server validate and default it, creating nothing')
    .action(async (flags: RenderFlags & { serverDryRun?: boolean }, cmd: Command) => {
      ctx.use(cmd);
      const format =
        ctx.globals.output === 'table' || ctx.globals.output === undefined
          ? 'yaml'
          : parseOutput(ctx.globals.output);
      const { job, namespace } = await renderJob(ctx, flags, flags.serverDryRun === true);
      if (flags.serverDryRun !== true) {
        ctx.print(formatJobs(job, format));
        return;
      }
      const result = await ctx.jobs.create(job, { namespace, dryRun: true });
      ctx.print(formatJobs(result.job, format));
    });
}
