// One real node per host: the kubelet's cgroups (/kubepods), the CNI bridge
// and a few fixed paths are host-wide. The record of the running node lives
// in /run (gone after a reboot, like the processes it names) and carries the
// host's state from before the node started, so any later `cluster:down`, or
// the next start after a crash, can put the host back.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isProcessOf } from '../process.ts';
import type { HostSnapshot } from './host.ts';

export const HOST_RECORD = process.env.KJD_REAL_NODE_RECORD ?? '/run/kjd-real-node.json';

export interface HostRecord {
  /** The cluster folder the node belongs to. */
  readonly clusterDir: string;
  readonly nodeDir: string;
  readonly nodeName: string;
  readonly socket: string;
  readonly pids: readonly { readonly name: string; readonly pid: number }[];
  /**
   * The (node) process that claimed the slot and is starting the node. It
   * keeps the claim live before containerd and the kubelet exist, so a second
   * start in that window cannot take the record for a dead one and tear it down.
   */
  readonly claimedBy?: number;
  readonly host: HostSnapshot;
}

export class RealNodeBusyError extends Error {
  override readonly name = 'RealNodeBusyError';
  readonly owner: string;
  constructor(owner: string) {
    super(
      `this host already runs a real node for the cluster in ${owner} (one per host: cgroups, the bridge ` +
        `and /var/lib/kubelet are host-wide). ${howToFree(owner)}`,
    );
    this.owner = owner;
  }
}

/**
 * What frees the slot, from the owner's folder: a test run's cluster
 * (`<state>/clusters/test-<pid>`) goes when that run ends; a `cluster:up`
 * one is stopped from the checkout that started it.
 */
function howToFree(owner: string): string {
  const m = /^(.*)\/\.kjd\/clusters\/([^/]+)$/.exec(owner);
  const testRun = /^test-(\d+)$/.exec(m?.[2] ?? basename(owner));
  if (testRun !== null) return `It belongs to the test run of pid ${testRun[1]} and goes when that run ends.`;
  const where = m === null ? '' : ` in ${m[1]}`;
  return `Use that cluster (KJD_TEST_KUBECONFIG=${owner}/kubeconfig.yaml for the tests), or stop it with \`npm run cluster:down\`${where}.`;
}

export async function readHostRecord(): Promise<HostRecord | undefined> {
  try {
    return JSON.parse(await readFile(HOST_RECORD, 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
}

export async function writeHostRecord(record: HostRecord): Promise<void> {
  await writeFile(HOST_RECORD, JSON.stringify(record, null, 2));
}

/**
 * The first write of a node's record, exclusive: of two starts that both
 * found the slot free, one creates the file and the other gets
 * RealNodeBusyError naming the winner.
 */
export async function claimHostRecord(record: HostRecord): Promise<void> {
  try {
    await writeFile(HOST_RECORD, JSON.stringify(record, null, 2), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new RealNodeBusyError((await readHostRecord())?.clusterDir ?? 'another cluster');
  }
}

export async function removeHostRecord(): Promise<void> {
  await rm(HOST_RECORD, { force: true });
}

/** True while any process the record names (its claimer included) is still alive. */
export function recordIsLive(record: HostRecord): boolean {
  const claimer = record.claimedBy !== undefined && isProcessOf(record.claimedBy, 'node');
  return claimer || record.pids.some(({ name, pid }) => isProcessOf(pid, name));
}
