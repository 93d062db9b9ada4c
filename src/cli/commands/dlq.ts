// `kjd dlq list|show|redrive|delete --config kjd.yaml --route R`: a queue
// route's dead letters, on the same library code as the HTTP API and the
// dashboard (deadletter/). It reads the route's keys, namespace and id scope
// from kjd serve's configuration, talks to Redis itself, and asks the API
// server (with the CLI's own credentials) whether a request's Job exists
// before a redrive, so a redrive never makes a second Job.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadServeConfig } from '../../config/serve-config.ts';
import { routeDeadLettersFromConfig, type RouteDeadLetters } from '../../deadletter/index.ts';
import { connectRedis } from '../../sources/redis-connection.ts';
import type { CliContext } from '../context.ts';
import { age, columns, parseOutput, UsageError } from '../output.ts';

interface DlqFlags {
  readonly config: string;
  readonly route: string;
  readonly redisUrl?: string;
}

export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program
    .command('dlq')
    .description("a queue route's dead letters: list, show, redrive (with its request id), delete");
  const withRoute = (c: Command) =>
    c
      .requiredOption('-c, --config <path>', 'kjd serve configuration (YAML): where the route is')
      .requiredOption('--route <name>', 'the queue route')
      .option('--redis-url <url>', 'overrides redis.url (also KJD_REDIS_URL)');

  withRoute(dlq.command('list').description('dead letters, newest first'))
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 100)
    .action(async (flags: DlqFlags & { limit: number }, cmd: Command) => {
      if (!(flags.limit >= 1 && flags.limit <= 10_000)) throw new UsageError('--limit: 1 to 10000');
      await withLetters(ctx, cmd, flags, async (letters, format) => {
        const page = await letters.list(flags.limit);
        if (format === 'table') {
          const rows = page.items.map((e) => [
            e.id,
            e.requestId,
            e.code,
            e.failedAt === '' ? '' : age(Date.now() - Date.parse(e.failedAt)),
            e.reason.split('\n')[0] ?? '',
          ]);
          ctx.print(columns([['ID', 'REQUEST-ID', 'CODE', 'AGE', 'REASON'], ...rows]));
          ctx.print(`${page.items.length} of ${page.total} dead letters of route ${letters.route.name}`);
        } else ctx.print(render({ route: letters.route.name, ...page }, format));
      });
    });

  withRoute(dlq.command('show').description('one dead letter, with the Job its request has or would have'))
    .argument('<id>', 'dead letter id (from list)')
    .action(async (id: string, flags: DlqFlags, cmd: Command) => {
      await withLetters(ctx, cmd, flags, async (letters, format) => {
        const entry = await letters.get(id);
        if (entry === undefined)
          throw new UsageError(`no dead letter "${id}" in route ${letters.route.name}`);
        const shown = { ...entry, jobName: letters.jobNameFor(entry.requestId) };
        ctx.print(render(shown, format === 'table' ? 'yaml' : format));
      });
    });

  withRoute(dlq.command('redrive').description('back onto the queue with its request id (exactly once)'))
    .argument('[id]', 'dead letter id (from list)')
    .option('--all', 'every dead letter of the route (up to 1000 per run)')
    .action(async (id: string | undefined, flags: DlqFlags & { all?: boolean }, cmd: Command) => {
      if ((id === undefined) === (flags.all !== true))
        throw new UsageError('give one dead letter id, or --all');
      await withLetters(ctx, cmd, flags, async (letters, format) => {
        const outcomes = id === undefined ? await letters.redriveAll() : [await letters.redrive(id)];
        if (format === 'table')
          for (const o of outcomes)
            ctx.print(
              o.outcome === 'requeued'
                ? `${o.id} (${o.requestId}) requeued`
                : o.outcome === 'already-done'
                  ? `${o.id} (${o.requestId}) already done (${o.why}, job ${o.jobName}): removed, not requeued`
                  : `${o.id} not found (redriven or deleted already)`,
            );
        else ctx.print(render(id === undefined ? { items: outcomes } : outcomes[0], format));
        if (outcomes.some((o) => o.outcome === 'not-found')) ctx.exitCode = 1;
      });
    });

  withRoute(dlq.command('delete').description('remove a dead letter for good'))
    .argument('<id>', 'dead letter id (from list)')
    .action(async (id: string, flags: DlqFlags, cmd: Command) => {
      await withLetters(ctx, cmd, flags, async (letters, format) => {
        const deleted = await letters.delete(id);
        if (!deleted) throw new UsageError(`no dead letter "${id}" in route ${letters.route.name}`);
        ctx.print(format === 'table' ? `${id} deleted` : render({ deleted: id }, format));
      });
    });
}

type Format = 'table' | 'json' | 'yaml';

/** Opens Redis for one command and always closes it. */
async function withLetters(
  ctx: CliContext,
  cmd: Command,
  flags: DlqFlags,
  run: (letters: RouteDeadLetters, format: Format) => Promise<void>,
): Promise<void> {
  ctx.use(cmd);
  const output = parseOutput(ctx.globals.output);
  if (output === 'name') throw new UsageError('-o for dlq: table, json or yaml');
  const config = await loadServeConfig(flags.config, ctx.io.env, {
    ...(flags.redisUrl !== undefined ? { redisUrl: flags.redisUrl } : {}),
  });
  const redis = connectRedis(config.redis, 'commands');
  try {
    const letters = await routeDeadLettersFromConfig(config, flags.route, {
      redis,
      jobs: ctx.jobs,
      fallbackNamespace: config.kubernetes.namespace ?? ctx.client.namespace,
    });
    await run(letters, output);
  } finally {
    redis.disconnect();
  }
}

function render(doc: unknown, format: Format): string {
  return format === 'json' ? JSON.stringify(doc, null, 2) : stringify(doc);
}
