#!/usr/bin/env node
// The `kjd` command: parses the command line, runs one command, and turns any
// error into one readable message on stderr and an exit code (see
// exit-codes.ts). Stack traces only with --debug.
import { Command, CommanderError } from 'commander';
import { isKjdError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { registerCheck } from './commands/check.ts';
import { registerDelete } from './commands/delete.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerGet } from './commands/get.ts';
import { registerLaunch } from './commands/launch.ts';
import { registerList } from './commands/list.ts';
import { registerLogs } from './commands/logs.ts';
import { registerPatch } from './commands/patch.ts';
import { registerRender } from './commands/render.ts';
import { registerServe } from './commands/serve.ts';
import { registerWait } from './commands/wait.ts';
import { CliContext, type CliIo } from './context.ts';
import { EXIT } from './exit-codes.ts';
import { UsageError } from './output.ts';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('kjd')
    // Set before any subcommand exists: Commander copies it into each one at creation.
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .description(
      'kube-job-dispatcher: turn work items (Redis list/stream, HTTP) into Kubernetes Jobs, exactly once, tracked to completion.',
    )
    .version(VERSION, '-v, --version', 'print the kjd version')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <namespace>', "namespace (default: the context's or the Pod's)")
    .option('-o, --output <format>', 'table | json | yaml | name', 'table')
    .option('--debug', 'print stack traces')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the kjd version')
    .action(() => {
      ctx.print(VERSION);
    });
  for (const register of [
    registerLaunch,
    registerRender,
    registerGet,
    registerList,
    registerWait,
    registerLogs,
    registerPatch,
    registerDelete,
    registerCheck,
    registerServe,
    registerDlq,
  ]) {
    register(program, ctx);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return report(err, io, argv.includes('--debug'));
  } finally {
    await ctx.close();
  }
}

function report(err: unknown, io: CliIo, debug: boolean): number {
  if (err instanceof CommanderError) {
    // help and version end in a CommanderError too, with exit code 0
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (err instanceof UsageError || err instanceof RangeError) {
    io.stderr.write(`error: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (isKjdError(err)) {
    io.stderr.write(`error: ${err.message}\n`);
    const hint = err.hint();
    if (hint !== undefined) io.stderr.write(`${hint}\n`);
  } else {
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  if (debug && err instanceof Error && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
  return err !== null && typeof err === 'object' && 'code' in err && err.code === 'JOB_WAIT_TIMEOUT'
    ? EXIT.TIMEOUT
    : EXIT.ERROR;
}

/** The process entry: runs the command line and sets the exit code. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}

if (import.meta.main) await main();
