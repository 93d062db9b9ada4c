import type { Command } from 'commander';
import { checkAccess, roleYaml, ruleName } from '../../kube/access.ts';
import type { CliContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { columns, parseOutput } from '../output.ts';

export function registerCheck(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description(
      'check that the current identity has every permission kjd needs; prints the Role to apply if not (exit 3)',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      ctx.use(cmd);
      const format = parseOutput(ctx.globals.output);
      const namespace = ctx.namespace;
      const results = await checkAccess(ctx.client, namespace);
      const missing = results.filter((r) => !r.allowed);
      if (format === 'json' || format === 'yaml') {
        ctx.print(JSON.stringify({ namespace, source: ctx.client.connection.source, results }, null, 2));
      } else {
        const rows = results.map((r) => [
          r.allowed ? '✓' : '✗',
          r.verb,
          `${ruleName(r)}${r.group === '' ? '' : `.${r.group}`}`,
          r.why,
        ]);
        ctx.print(`Permissions in namespace ${namespace} (${ctx.client.connection.source}):`);
        ctx.print(columns([['', 'VERB', 'RESOURCE', 'USED FOR'], ...rows]));
        if (missing.length > 0) {
          ctx.print(
            `\n${missing.length} missing. The minimal Role kjd needs (bind it to this identity with a RoleBinding):\n`,
          );
          ctx.print(roleYaml('kjd', namespace, results));
        }
      }
      ctx.exitCode = missing.length === 0 ? EXIT.OK : EXIT.JOB_FAILED;
    });
}
