import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatJobs, parseOutput, UsageError } from '../output.ts';

export function registerPatch(program: Command, ctx: CliContext): void {
  program
    .command('patch')
    .description(
      'change a Job: --merge with a JSON merge patch, or --image (refused by the API for an existing Job; the error says what can change)',
    )
    .argument('<name>', 'Job name')
    .option('--image <image>', "set a container's image (seed 001's patch)")
    .option('--container <name>', 'container for --image (default: the first)')
    .option('--merge <json>', 'a JSON merge patch, e.g. \'{"spec":{"suspend":true}}\'')
    .option('--strategic <json>', 'a strategic merge patch (lists such as containers merge by name)')
    .action(
      async (
        name: string,
        opts: { image?: string; container?: string; merge?: string; strategic?: string },
        cmd: Command,
      ) => {
        ctx.use(cmd);
        const format = parseOutput(ctx.globals.output);
        const given = [opts.image, opts.merge, opts.strategic].filter((o) => o !== undefined).length;
        if (given !== 1) throw new UsageError('give exactly one of --image, --merge, --strategic');
        let job;
        if (opts.image !== undefined) {
          job = await ctx.jobs.setImage(
            name,
            opts.image,
            opts.container !== undefined ? { container: opts.container } : {},
          );
        } else {
          const text = (opts.merge ?? opts.strategic) as string;
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch (err) {
            throw new UsageError(`the patch is not valid JSON: ${(err as Error).message}`);
          }
          job = await ctx.jobs.patch(name, body, { type: opts.merge !== undefined ? 'merge' : 'strategic' });
        }
        ctx.print(format === 'table' ? `job.batch/${name} patched` : formatJobs(job, format));
      },
    );
}
