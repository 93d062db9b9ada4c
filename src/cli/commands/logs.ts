import type { Command } from 'commander';
import { streamJobLogs } from '../../kube/logs.ts';
import type { CliContext } from '../context.ts';

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("print the logs of a Job's Pods")
    .argument('<name>', 'Job name')
    .option('-f, --follow', 'keep streaming until the containers end')
    .option('-c, --container <name>', 'container (default: the first)')
    .option('--tail <lines>', 'only the last N lines of each Pod', (v) => Number.parseInt(v, 10))
    .action(
      async (name: string, opts: { follow?: boolean; container?: string; tail?: number }, cmd: Command) => {
        ctx.use(cmd);
        await streamJobLogs(ctx.client, ctx.jobs, name, ctx.io.stdout as never, {
          follow: opts.follow === true,
          ...(opts.container !== undefined ? { container: opts.container } : {}),
          ...(opts.tail !== undefined ? { tailLines: opts.tail } : {}),
        });
      },
    );
}
