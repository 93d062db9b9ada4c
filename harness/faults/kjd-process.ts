// Process faults for `kjd serve` replicas: SIGKILL, and SIGSTOP/SIGCONT
// (a frozen process keeps its sockets and its Redis heartbeat key until the
// TTL runs out, which is what a long GC pause or a throttled container does).
import type { ChildProcess } from 'node:child_process';

export interface KjdProcessLike {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** SIGKILL, resolved once the process is gone. */
export async function killHard(p: KjdProcessLike): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

/** Freezes the process for `ms`, then lets it run again. */
export async function freeze(p: KjdProcessLike, ms: number, signal?: AbortSignal): Promise<void> {
  p.child.kill('SIGSTOP');
  try {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  } finally {
    p.child.kill('SIGCONT');
  }
}
