// localhost/kjd-testsh:local: the host's dash as /bin/sh plus touch, id, cat
// and ls (with the libraries ldd names), from scratch. The real-node tests
// run `sh -c` scripts in it; touch and id are there so that a value which
// did get executed would leave its trace (/tmp/pwned), and the test can see
// that none did. About 3 MB; cached as kjd-testsh.tar.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { exists, HOST_BINARIES } from './host.ts';
import { buildahStore, exportImage, ImageBuildError, imageCacheDir } from './images.ts';

const run = promisify(execFile);

export const TESTSH_IMAGE = 'localhost/kjd-testsh:local';
const PROGRAMS = ['/bin/dash', '/usr/bin/touch', '/usr/bin/id', '/usr/bin/cat', '/usr/bin/ls'] as const;

export async function ensureTestShImage(cache = imageCacheDir()): Promise<string> {
  const tar = join(cache, 'kjd-testsh.tar');
  if (await exists(tar)) return tar;
  const rootfs = await mkdtemp(join(tmpdir(), 'kjd-testsh-'));
  try {
    await assembleRootfs(rootfs);
    await buildFrom(cache, rootfs);
    await exportImage(cache, TESTSH_IMAGE, tar);
    return tar;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

async function assembleRootfs(rootfs: string): Promise<void> {
  const files = new Set<string>(PROGRAMS);
  for (const program of PROGRAMS) {
    const { stdout } = await run('ldd', [program]);
    for (const m of stdout.matchAll(/(\/\S+\.so[^\s]*)/g)) if (m[1] !== undefined) files.add(m[1]);
  }
  for (const file of files) {
    const target = join(rootfs, file);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file, target); // follows symlinks: the library itself, under the name ldd gave
    await chmod(target, 0o755);
  }
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await symlink('dash', join(rootfs, 'bin', 'sh'));
  await mkdir(join(rootfs, 'tmp'));
  await chmod(join(rootfs, 'tmp'), 0o1777);
}

async function buildFrom(cache: string, rootfs: string): Promise<void> {
  const store = buildahStore(cache);
  const step = async (args: string[]) => {
    try {
      return (await run(HOST_BINARIES.buildah, [...store, ...args])).stdout.trim();
    } catch (err) {
      throw new ImageBuildError(TESTSH_IMAGE, `buildah ${args.join(' ')}`, err);
    }
  };
  const container = await step(['from', 'scratch']);
  try {
    await step(['copy', container, rootfs, '/']);
    await step(['config', '--env', 'PATH=/usr/bin:/bin', '--cmd', '/bin/sh', container]);
    await step(['commit', '--rm', container, TESTSH_IMAGE]);
  } catch (err) {
    await run(HOST_BINARIES.buildah, [...store, 'rm', container]).catch(() => undefined);
    throw err;
  }
}
