// Restart of the local cluster's kube-apiserver with the very same command
// line (read back from /proc), so ports, certificates and flags stay the same.
// Affects every client of that cluster: only for a private cluster.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpsGet } from '../net.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from '../process.ts';
import type { LocalCluster } from '../cluster/local-cluster.ts';

export interface ApiserverControl {
  /** The running kube-apiserver (a new process after each restart). */
  current(): ManagedProcess;
  /**
   * Stops the apiserver (`kill`: SIGKILL, else SIGTERM), keeps it down for
   * `downMs`, starts it again with the same flags plus `extraArgs`, and waits for /readyz.
   */
  restart(options?: { kill?: boolean; downMs?: number; extraArgs?: readonly string[] }): Promise<void>;
  /** Stops the apiserver this control started (the cluster's stop() only knows the first). */
  stop(): Promise<void>;
}

export async function controlApiserver(cluster: LocalCluster): Promise<ApiserverControl> {
  let proc = cluster.processes.find((p) => p.name === 'kube-apiserver');
  if (proc === undefined) throw new Error(`cluster ${cluster.name} has no kube-apiserver process`);
  const [command = '', ...baseArgs] = (await readFile(`/proc/${proc.pid}/cmdline`, 'utf8'))
    .split('\0')
    .filter((a) => a !== '');
  const pki = join(cluster.dir, 'pki');
  const tls = {
    ca: await readFile(cluster.caFile),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  };
  const started: ManagedProcess[] = [];
  return {
    current: () => proc as ManagedProcess,
    async restart(options = {}) {
      const old = proc as ManagedProcess;
      if (options.kill === true) {
        process.kill(old.pid, 'SIGKILL');
        await old.exited;
      } else {
        await old.stop(30_000);
      }
      if (options.downMs !== undefined) await sleep(options.downMs);
      const next = startProcess({
        name: 'kube-apiserver',
        command,
        args: [
          ...baseArgs.filter((a) => !(options.extraArgs ?? []).some((x) => sameFlag(a, x))),
          ...(options.extraArgs ?? []),
        ],
        logFile: join(cluster.logsDir, `kube-apiserver.restart-${started.length + 1}.log`),
      });
      started.push(next);
      proc = next;
      await waitUntilReady(
        next,
        async () => (await httpsGet(`${cluster.server}/readyz`, tls)).status === 200,
        120_000,
      );
    },
    async stop() {
      for (const p of started) await p.stop();
    },
  };
}

const sameFlag = (a: string, b: string) => a.split('=')[0] === b.split('=')[0];
