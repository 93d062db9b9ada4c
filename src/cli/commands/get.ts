import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatJobs, parseOutput } from '../output.ts';

export function registerGet(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .description('show one Job and its status')
    .argument('<name>', 'Job name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      ctx.use(cmd);
      const format = parseOutput(ctx.globals.output);
      ctx.print(formatJobs(await ctx.jobs.get(name), format));
    });
}
