// What the real node needs from the host, and what it changes there. The
// kubelet and the CNI bridge plugin change host-wide settings (sysctls, a
// bridge, iptables chains, cgroups, a few fixed paths); this module records
// them before the node starts and puts them back when it stops.
import { execFile } from 'node:child_process';
import { access, constants, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The binaries from Debian packages the node runs (scripts/setup.sh installs them). */
export const HOST_BINARIES = {
  containerd: '/usr/bin/containerd',
  ctr: '/usr/bin/ctr',
  runc: '/usr/sbin/runc',
  cniBridge: '/usr/lib/cni/bridge',
  cniHostLocal: '/usr/lib/cni/host-local',
  catatonit: '/usr/bin/catatonit',
  buildah: '/usr/bin/buildah',
  skopeo: '/usr/bin/skopeo',
} as const;

export const CNI_BIN_DIR = '/usr/lib/cni';
export const BRIDGE_NAME = 'kjd0';

/** Kernel settings the kubelet (and the bridge plugin, for ip_forward) set when the node starts. */
export const SYSCTLS = [
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
  'net/ipv4/ip_forward',
] as const;

/** Paths outside the node's folder that containerd, CNI or the kubelet create. */
export const FIXED_PATHS = ['/run/containerd', '/var/lib/cni', '/var/lib/kubelet'] as const;

/** The v1 hierarchies (and the v2 one) where the kubelet creates `kubepods`. */
const CGROUP_ROOT = '/sys/fs/cgroup';

export type Support = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether this host can run the real node: root, the Debian packages, the
 * kubelet binary, and writable cgroups. The reason names the fix.
 */
export async function realNodeSupport(kubelet: string): Promise<Support> {
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'not running as root (the kubelet and containerd need root)' };
  if (process.platform !== 'linux') return { ok: false, reason: `platform ${process.platform} is not linux` };
  const missing: string[] = [];
  for (const [name, path] of Object.entries(HOST_BINARIES)) {
    if (!(await executable(path))) missing.push(`${name} (${path})`);
  }
  if (missing.length > 0)
    return {
      ok: false,
      reason: `missing ${missing.join(', ')}: run \`bash scripts/setup.sh\` (apt-get install containerd runc containernetworking-plugins catatonit buildah skopeo mmdebstrap)`,
    };
  if (!(await executable(kubelet)))
    return { ok: false, reason: `no kubelet at ${kubelet}: run \`npm run cluster:build\`` };
  try {
    await access(join(CGROUP_ROOT, 'memory'), constants.W_OK);
    await access(join(CGROUP_ROOT, 'cpu'), constants.W_OK);
  } catch {
    return { ok: false, reason: `cgroups under ${CGROUP_ROOT} (memory, cpu) are not writable` };
  }
  return { ok: true };
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The host as it was before the node started: written to the node's state file. */
export interface HostSnapshot {
  readonly sysctls: Readonly<Record<string, string>>;
  /** Chains per `<command>/<table>` that existed before. */
  readonly chains: Readonly<Record<string, readonly string[]>>;
  readonly existingPaths: readonly string[];
}

const IPTABLES = ['iptables', 'ip6tables'] as const;
const TABLES = ['filter', 'nat', 'mangle'] as const;

export async function snapshotHost(): Promise<HostSnapshot> {
  const sysctls: Record<string, string> = {};
  for (const key of SYSCTLS) sysctls[key] = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
  const chains: Record<string, string[]> = {};
  for (const cmd of IPTABLES) {
    for (const table of TABLES) {
      const rules = await iptablesRules(cmd, table);
      if (rules !== undefined) chains[`${cmd}/${table}`] = chainsOf(rules);
    }
  }
  const existingPaths: string[] = [];
  for (const p of FIXED_PATHS) if (await exists(p)) existingPaths.push(p);
  return { sysctls, chains, existingPaths };
}

/**
 * Puts the host back as `before` found it: sysctls, the chains the node
 * added (and the rules jumping to them), the bridge, the kubepods cgroups,
 * the fixed paths it created. Each step runs even when another fails; the
 * failures come back as messages.
 */
export async function restoreHost(before: HostSnapshot): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  for (const [key, value] of Object.entries(before.sysctls)) {
    await step(`sysctl ${key}`, () => writeFile(`/proc/sys/${key}`, value));
  }
  for (const cmd of IPTABLES) {
    for (const table of TABLES) {
      const old = before.chains[`${cmd}/${table}`];
      if (old !== undefined) await step(`${cmd} -t ${table}`, () => removeNewChains(cmd, table, old));
    }
  }
  await step(`ip link del ${BRIDGE_NAME}`, async () => {
    if (await exists(`/sys/class/net/${BRIDGE_NAME}`)) await run('ip', ['link', 'del', BRIDGE_NAME]);
  });
  await step('kubepods cgroups', removeKubepodsCgroups);
  for (const p of FIXED_PATHS) {
    if (!before.existingPaths.includes(p))
      await step(`rm ${p}`, () => rm(p, { recursive: true, force: true }));
  }
  return problems;
}

async function iptablesRules(cmd: string, table: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await run(cmd, ['-w', '5', '-t', table, '-S']);
    return stdout.split('\n').filter(Boolean);
  } catch {
    return undefined; // no such command or table on this host
  }
}

/** `-P INPUT ACCEPT` and `-N KUBE-FIREWALL` both declare a chain. */
const chainsOf = (rules: readonly string[]) =>
  rules.filter((r) => r.startsWith('-N ') || r.startsWith('-P ')).map((r) => r.split(' ')[1] ?? '');

async function removeNewChains(cmd: string, table: string, old: readonly string[]): Promise<void> {
  const rules = (await iptablesRules(cmd, table)) ?? [];
  const added = chainsOf(rules).filter((c) => !old.includes(c));
  if (added.length === 0) return;
  // First the rules in the old chains that jump to a new one, then the new chains themselves.
  for (const rule of rules) {
    const words = rule.split(' ');
    const target = words[words.indexOf('-j') + 1] ?? '';
    if (words[0] === '-A' && old.includes(words[1] ?? '') && added.includes(target)) {
      await run(cmd, ['-w', '5', '-t', table, '-D', ...words.slice(1)]);
    }
  }
  for (const chain of added) await run(cmd, ['-w', '5', '-t', table, '-F', chain]);
  for (const chain of added) await run(cmd, ['-w', '5', '-t', table, '-X', chain]);
}

/** rmdir from the leaves up: a cgroup folder can only go once it is empty of children (and tasks). */
async function removeKubepodsCgroups(): Promise<void> {
  for (const hierarchy of await readdir(CGROUP_ROOT)) {
    const top = join(CGROUP_ROOT, hierarchy, 'kubepods');
    if (await exists(top)) await rmdirTree(top);
  }
}

async function rmdirTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await rmdirTree(join(dir, entry.name));
  }
  await rmdir(dir);
}

/** Whether something is at `path` (a file, a folder, a socket). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
