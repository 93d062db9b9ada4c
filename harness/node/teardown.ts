// Stopping containerd leaves its shims (and so the Pods' processes) running,
// and the kubelet leaves mounts (projected tokens, overlay rootfs, network
// namespaces) under the node's folder. These helpers end both, touching only
// what this node's containerd (found by its socket) and folder own.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isAlive } from '../process.ts';
import { HOST_BINARIES } from './host.ts';

const run = promisify(execFile);

/** SIGKILLs every task in containerd's `k8s.io` namespace, then deletes tasks and containers. */
export async function removeAllContainers(socket: string): Promise<void> {
  const ctr = (...args: string[]) =>
    run(HOST_BINARIES.ctr, ['--address', socket, '-n', 'k8s.io', ...args], { timeout: 20_000 });
  const ids = async (what: 'tasks' | 'containers') =>
    (await ctr(what, 'ls', '-q')).stdout.split('\n').filter(Boolean);
  for (const id of await ids('tasks')) await ctr('tasks', 'kill', '-s', 'SIGKILL', id).catch(() => undefined);
  for (const id of await ids('tasks')) await ctr('tasks', 'delete', '-f', id).catch(() => undefined);
  for (const id of await ids('containers')) await ctr('containers', 'delete', id).catch(() => undefined);
}

/** Shim processes of the containerd serving `socket` (they name it in their argv). */
export async function shimPids(socket: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const words = argv.split('\0');
    if ((words[0] ?? '').includes('containerd-shim') && words.includes(socket)) pids.push(Number(entry));
  }
  return pids;
}

export async function killShims(socket: string): Promise<void> {
  for (const pid of await shimPids(socket)) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/** Lazily unmounts every mount point under `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const mountInfo = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mountInfo
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of [...new Set(points)]) await run('umount', ['-l', p]).catch(() => undefined);
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescapeMountPath = (p: string) =>
  p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
