// A child process of the local environment (etcd, kube-apiserver, redis, ...):
// output goes to a log file, stop() is graceful then forceful, and a process
// that dies during start-up is reported with the tail of its log.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Survive the parent (for `cluster:up`); the caller records the pid. */
  readonly detached?: boolean;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export class ProcessExitedError extends Error {
  override readonly name = 'ProcessExitedError';
  readonly processName: string;
  readonly exit: number | string;
  readonly logTail: string;
  constructor(processName: string, exit: number | string, tail: string) {
    super(`${processName} exited (${exit}) while starting; last log lines:\n${tail}`);
    this.processName = processName;
    this.exit = exit;
    this.logTail = tail;
  }
}

export function startProcess(spec: ProcessSpec): ManagedProcess {
  const fd = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    stdio: ['ignore', fd, fd],
    env: spec.env ?? process.env,
    detached: spec.detached ?? false,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  if (spec.detached === true) child.unref();
  const pid = child.pid;
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', () => {
      running = false;
      resolve('spawn-error');
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    exited,
    isRunning: () => running,
    stop(graceMs = 10_000) {
      stopping ??= stopPid(pid, graceMs, exited);
      return stopping;
    },
  };
}

/** Stops a process we may not have spawned ourselves (from a state file). */
export async function stopPid(pid: number, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const done = await Promise.race([exited.then(() => true), sleep(50).then(() => false)]);
      if (done) return;
    } else {
      if (!isAlive(pid)) return;
      await sleep(50);
    }
  }
  signal(pid, 'SIGKILL');
  if (exited !== undefined) await exited;
  else while (isAlive(pid)) await sleep(20);
}

/** True when `pid` is alive and its command line still names `command` (guards against PID reuse). */
export function isProcessOf(pid: number, command: string): boolean {
  try {
    // Redis rewrites its title ("redis-server 127.0.0.1:port"), so match within argv[0].
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.includes(command) ?? false;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  return signal(pid, 0);
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `probe` until it returns true. Fails early, with the log tail, when
 * the process dies, and after `timeoutMs` with the last probe error.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!proc.isRunning()) throw new ProcessExitedError(proc.name, await proc.exited, logTail(proc.logFile));
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  const why = lastError instanceof Error ? lastError.message : 'probe never succeeded';
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms (${why}); log: ${proc.logFile}`);
}
