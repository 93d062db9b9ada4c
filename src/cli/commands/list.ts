import type { Command } from 'commander';
import { LABEL_MANAGED_BY, MANAGED_BY_KJD } from '../../kube/labels.ts';
import { watchJobs } from '../../kube/watch.ts';
import type { CliContext } from '../context.ts';
import { formatJobs, parseOutput } from '../output.ts';
import { describeState } from '../progress.ts';
import { jobState } from '../../kube/job-status.ts';

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('list Jobs (all pages); by default only those kjd created')
    .option('-l, --selector <selector>', 'label selector, e.g. kjd.dev/template=worker')
    .option('-A, --all', 'also Jobs kjd did not create')
    .option('-w, --watch', 'after listing, print every change until interrupted')
    .action(async (opts: { selector?: string; all?: boolean; watch?: boolean }, cmd: Command) => {
      ctx.use(cmd);
      const format = parseOutput(ctx.globals.output);
      const selectors = [
        opts.all === true ? undefined : `${LABEL_MANAGED_BY}=${MANAGED_BY_KJD}`,
        opts.selector,
      ];
      const labelSelector = selectors.filter((s) => s !== undefined).join(',') || undefined;
      const page = await ctx.jobs.list({
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        limit: 500,
      });
      const items = [...page.items];
      for (let token = page.continue; token !== undefined;) {
        const next = await ctx.jobs.list({
          ...(labelSelector !== undefined ? { labelSelector } : {}),
          limit: 500,
          continue: token,
        });
        items.push(...next.items);
        token = next.continue;
      }
      if (items.length > 0 || format !== 'table') ctx.print(formatJobs(items, format));
      else ctx.io.stderr.write(`No Jobs in namespace ${ctx.namespace}.\n`);
      if (opts.watch !== true) return;
      for await (const ev of watchJobs(ctx.client.transport, {
        namespace: ctx.namespace,
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        ...(page.resourceVersion !== undefined ? { resourceVersion: page.resourceVersion } : {}),
      })) {
        if (ev.type === 'BOOKMARK') continue;
        ctx.print(`${ev.type} ${describeState(ev.object.metadata?.name ?? '', jobState(ev.object))}`);
      }
    });
}
