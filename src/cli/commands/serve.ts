// `kjd serve --config kjd.yaml`: the dispatcher service. The one place that
// owns the process: JSON logs on stdout, SIGTERM/SIGINT -> graceful stop.
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadServeConfig } from '../../config/serve-config.ts';
import { DispatcherService } from '../../service/dispatcher-service.ts';
import type { CliContext } from '../context.ts';

/** Log lines are written in chunks of about this size... */
const LOG_BUFFER_BYTES = 4096;
/** ...or after this long, whichever comes first. */
const LOG_FLUSH_MS = 200;

interface ServeFlags {
  readonly config: string;
  readonly redisUrl?: string;
  readonly listen?: string;
  readonly logLevel: string;
  readonly replicaId?: string;
  readonly insecureNoAuth?: boolean;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'run the dispatcher: take items from the configured queues, create one Job each, record results',
    )
    .requiredOption('-c, --config <path>', 'serve configuration (YAML)')
    .option('--redis-url <url>', 'overrides redis.url (also KJD_REDIS_URL)')
    .option('--listen <host:port>', 'overrides http.listen (also KJD_HTTP_LISTEN)')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--replica-id <id>', "this replica's name in Redis (default: hostname + random)")
    .option('--insecure-no-auth', 'serve /v1 without authentication (refused unless listening on loopback)')
    .action(async (flags: ServeFlags, cmd: Command) => {
      ctx.use(cmd);
      const config = await loadServeConfig(flags.config, ctx.io.env, {
        ...(flags.redisUrl !== undefined ? { redisUrl: flags.redisUrl } : {}),
        ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
        ...(ctx.globals.namespace !== undefined ? { namespace: ctx.globals.namespace } : {}),
        ...(ctx.globals.kubeconfig !== undefined ? { kubeconfig: ctx.globals.kubeconfig } : {}),
        ...(ctx.globals.context !== undefined ? { context: ctx.globals.context } : {}),
        ...(flags.insecureNoAuth === true ? { noAuth: true } : {}),
      });
      // Asynchronous, buffered stdout: a log line per item must not cost a
      // write each (one per line was ~4 % of kjd's CPU in a 2,000-item burst).
      // Lines wait at most LOG_FLUSH_MS; what is buffered is flushed when the
      // service stops.
      const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
      const flushing = setInterval(() => {
        destination.flush();
      }, LOG_FLUSH_MS).unref();
      const logger = pino({ level: flags.logLevel, base: { replica: flags.replicaId } }, destination);
      const service = await DispatcherService.create(config, {
        logger,
        env: ctx.io.env,
        ...(flags.replicaId !== undefined ? { replicaId: flags.replicaId } : {}),
      });
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'stopping');
          void service.stop().then(resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      try {
        await service.start();
      } catch (err) {
        await service.stop();
        clearInterval(flushing);
        destination.flushSync();
        throw err;
      }
      logger.info({ url: service.url, replicaId: service.replicaId }, 'kjd serve running');
      await stopped;
      clearInterval(flushing);
      destination.flushSync();
    });
}
