// Images for the real node, without a registry: built with buildah into a
// storage of our own, exported as docker-archive tars into the project's
// cache, and imported into the node's containerd. Pods use
// `imagePullPolicy: Never`.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exists, HOST_BINARIES } from './host.ts';
import { PAUSE_IMAGE } from './config.ts';

const run = promisify(execFile);

/** `~/.cache/kube-job-dispatcher/images` (KJD_CACHE_DIR overrides the parent): one `<name>.tar` per image. */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KJD_CACHE_DIR ?? join(homedir(), '.cache', 'kube-job-dispatcher'), 'images');
}

/** buildah's own storage (vfs: works on any filesystem, needs no fuse-overlayfs). */
export function buildahStore(cache: string): string[] {
  return [
    '--root',
    join(cache, 'buildah', 'root'),
    '--runroot',
    join(cache, 'buildah', 'run'),
    '--storage-driver',
    'vfs',
  ];
}

export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
  constructor(image: string, step: string, cause: unknown) {
    const detail = (cause as { stderr?: string }).stderr ?? (cause instanceof Error ? cause.message : '');
    super(`building ${image} failed at \`${step}\`: ${detail.trim()}`, { cause });
  }
}

/**
 * The sandbox ("pause") image: catatonit, statically linked, alone in an
 * image from scratch (about 700 KB). Cached as pause.tar.
 */
export async function ensurePauseImage(cache = imageCacheDir()): Promise<string> {
  const tar = join(cache, 'pause.tar');
  if (await exists(tar)) return tar;
  await mkdir(cache, { recursive: true });
  const store = buildahStore(cache);
  const step = async (cmd: string, args: string[]) => {
    try {
      return (await run(cmd, args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
    } catch (err) {
      throw new ImageBuildError(PAUSE_IMAGE, `${cmd} ${args.join(' ')}`, err);
    }
  };
  const container = await step(HOST_BINARIES.buildah, [...store, 'from', 'scratch']);
  try {
    await step(HOST_BINARIES.buildah, [
      ...store,
      'copy',
      container,
      HOST_BINARIES.catatonit,
      '/usr/bin/catatonit',
    ]);
    await step(HOST_BINARIES.buildah, [
      ...store,
      'config',
      '--entrypoint',
      '["/usr/bin/catatonit","-P"]',
      container,
    ]);
    await step(HOST_BINARIES.buildah, [...store, 'commit', '--rm', container, PAUSE_IMAGE]);
  } catch (err) {
    await run(HOST_BINARIES.buildah, [...store, 'rm', container]).catch(() => undefined);
    throw err;
  }
  await exportImage(cache, PAUSE_IMAGE, tar);
  return tar;
}

/** Writes a buildah image of this cache's storage to a docker-archive tar (atomically). */
export async function exportImage(cache: string, image: string, tar: string): Promise<void> {
  const root = join(cache, 'buildah', 'root');
  const runroot = join(cache, 'buildah', 'run');
  const partial = `${tar}.partial`;
  await rm(partial, { force: true });
  try {
    await run(HOST_BINARIES.skopeo, [
      'copy',
      '--quiet',
      `containers-storage:[vfs@${root}+${runroot}]${image}`,
      `docker-archive:${partial}:${image}`,
    ]);
  } catch (err) {
    throw new ImageBuildError(image, 'skopeo copy', err);
  }
  await rename(partial, tar);
}

/** Every `*.tar` in the cache (pause.tar, and kjd's and the worker's when built). */
export async function cachedImageTars(cache = imageCacheDir()): Promise<string[]> {
  const names = await readdir(cache).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.tar')).map((n) => join(cache, n));
}

/**
 * Imports the tars this node's containerd has not seen in their current
 * version (by size and mtime, recorded in `<nodeDir>/images-imported.json`),
 * so a `cluster:up` that reuses a running node only loads images rebuilt
 * since (kjd.tar alone takes seconds). Returns the tars it imported.
 */
export async function importNewImages(
  socket: string,
  nodeDir: string,
  tars: readonly string[],
): Promise<string[]> {
  const ledger = join(nodeDir, 'images-imported.json');
  const seen = JSON.parse(await readFile(ledger, 'utf8').catch(() => '{}')) as Record<string, string>;
  const versionOf = async (tar: string) => {
    const s = await stat(tar);
    return `${s.size}@${s.mtimeMs}`;
  };
  const fresh: string[] = [];
  for (const tar of new Set(tars)) if (seen[tar] !== (await versionOf(tar))) fresh.push(tar);
  await importImages(socket, fresh);
  for (const tar of fresh) seen[tar] = await versionOf(tar);
  await writeFile(ledger, JSON.stringify(seen, null, 2));
  return fresh;
}

/** Imports tars into containerd's `k8s.io` namespace, where the kubelet's CRI looks. */
export async function importImages(socket: string, tars: readonly string[]): Promise<void> {
  for (const tar of tars) {
    try {
      await run(HOST_BINARIES.ctr, ['--address', socket, '-n', 'k8s.io', 'images', 'import', tar], {
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr ?? String(err);
      throw new Error(`importing ${tar} into containerd failed: ${detail.trim()}`, { cause: err });
    }
  }
}

/** Image names containerd holds in the `k8s.io` namespace. */
export async function listImages(socket: string): Promise<string[]> {
  const { stdout } = await run(HOST_BINARIES.ctr, [
    '--address',
    socket,
    '-n',
    'k8s.io',
    'images',
    'ls',
    '-q',
  ]);
  return stdout.split('\n').filter(Boolean);
}
