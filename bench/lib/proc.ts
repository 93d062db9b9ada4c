// The processes the benchmark runs and measures: spawn with a "ready" line on
// stdout, and read a process's CPU time and peak RSS from /proc (Linux), so
// every contender, whatever its language, is measured the same way.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux we run on

/** User + system CPU seconds of `pid` so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Peak (VmHWM) and current (VmRSS) resident memory of `pid`, MB. */
export function memoryMB(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kb('VmHWM') / 1024, current: kb('VmRSS') / 1024 };
}

export interface Contender {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lines the process wrote to stdout after ready (e.g. "done 2000 0"). */
  readonly lines: string[];
  readonly stderr: () => string;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Resolve once stdout prints this line. Default "ready"; undefined waits for nothing. */
  readonly readyLine?: string | null;
  readonly timeoutMs?: number;
}

export async function spawnContender(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Contender> {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const readyLine = options.readyLine === undefined ? 'ready' : options.readyLine;
  const ready = new Promise<void>((resolve, reject) => {
    if (readyLine === null) resolve();
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === readyLine) resolve();
      else lines.push(line);
    });
    void exited.then(() => {
      reject(new Error(`${command} exited before ready: ${stderr.slice(-2000)}`));
    });
  });
  const timeout = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ready,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${command} not ready in ${timeout} ms`));
      }, timeout);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
  const pid = child.pid ?? 0;
  return {
    child,
    pid,
    lines,
    stderr: () => stderr,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
