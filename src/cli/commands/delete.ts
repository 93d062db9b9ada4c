import type { Command } from 'commander';
import type { Propagation } from '../../kube/jobs.ts';
import type { CliContext } from '../context.ts';
import { UsageError } from '../output.ts';

const CASCADES: Record<string, Propagation> = {
  background: 'Background',
  foreground: 'Foreground',
  orphan: 'Orphan',
};

export function registerDelete(program: Command, ctx: CliContext): void {
  program
    .command('delete')
    .description('delete a Job and (by default, in the background) its Pods')
    .argument('<name>', 'Job name')
    .option('--cascade <mode>', 'background | foreground | orphan', 'background')
    .option('--grace-period <seconds>', 'seconds the Pods get to stop', (v) => Number.parseInt(v, 10))
    .action(async (name: string, opts: { cascade: string; gracePeriod?: number }, cmd: Command) => {
      ctx.use(cmd);
      const propagation = CASCADES[opts.cascade.toLowerCase()];
      if (propagation === undefined)
        throw new UsageError(`--cascade must be background, foreground or orphan, not "${opts.cascade}"`);
      if (opts.gracePeriod !== undefined && !(opts.gracePeriod >= 0))
        throw new UsageError('--grace-period must be a number of seconds >= 0');
      await ctx.jobs.delete(name, {
        propagation,
        ...(opts.gracePeriod !== undefined ? { gracePeriodSeconds: opts.gracePeriod } : {}),
      });
      ctx.print(`job.batch/${name} deleted (cascade ${opts.cascade.toLowerCase()})`);
    });
}
