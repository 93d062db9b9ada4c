// Where the bench's processes run on this machine's cores.
//
// `shared` (the default): every process on every core, as CI's machine runs
// them. The contenders' own CPU then competes with the API server's, so a
// client that spends more CPU per Job also slows the server it measures.
//
// `split`: the control plane (kube-apiserver, etcd, the controllers, kwok) on
// core 0; the contenders, Redis and this runner on core 1. That is the shape
// of a real cluster, where kjd is a Pod on a worker node and not on the
// control plane's cores, at the price of an API server with one core. It
// tells what a client makes of the server's capacity apart from what the
// client costs, which the CPU per 1,000 Jobs measures on its own.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { BenchEnvironment } from './environment.ts';

export type Placement = 'shared' | 'split';
export const PLACEMENTS: readonly Placement[] = ['shared', 'split'];

/** Pins the processes as `placement` says; returns what undoes it (every process on every core). */
export function place(env: BenchEnvironment, placement: Placement, log: (m: string) => void): () => void {
  if (placement === 'shared') return () => undefined;
  if (availableParallelism() < 2) throw new Error('--placement split needs at least 2 cores');
  const controlPlane = Object.values(env.componentPids).filter((pid) => pid > 0);
  const clientSide = [process.pid, ...(env.redisPid !== undefined ? [env.redisPid] : [])];
  for (const pid of controlPlane) pin(pid, '0');
  // Children started from here on (contenders, wrk, Go and Python peers) inherit the runner's core.
  for (const pid of clientSide) pin(pid, '1');
  log(
    `placement split: control plane on core 0 (pids ${controlPlane.join(' ')}), contenders and Redis on core 1`,
  );
  return () => {
    for (const pid of [...controlPlane, ...clientSide]) pin(pid, `0-${String(availableParallelism() - 1)}`);
  };
}

/** Every thread of `pid` (-a): the Go runtime's threads, Node's workers. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}
