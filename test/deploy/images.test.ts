// The container images built by images/build.sh (docs/images.md), read from
// the docker-archive tars that the real node imports into containerd: each
// image's config (user, entrypoint) and files, straight from the tar. Then the
// worker and kjd really run from their unpacked root filesystems (chroot, as
// root), kjd as 10001 on a read-only root. Where a tar is absent the tests say
// so and skip: they never pass without the image.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';

const run = promisify(execFile);
const cacheDir = process.env.KJD_CACHE_DIR ?? join(homedir(), '.cache', 'kube-job-dispatcher');
const imagesDir = join(cacheDir, 'images');
const repoFile = (p: string) => new URL(`../../${p}`, import.meta.url).pathname;
const chrootRun = repoFile('images/chroot-run.sh');
const notRoot =
  process.getuid?.() !== 0 && 'running an image unpacked needs root (chroot, a mount namespace)';
const MB = 1024 * 1024;

interface ImageConfig {
  User?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
}
interface Archive {
  repoTags: string[];
  config: ImageConfig;
  layers: string[];
  /** Every path in the image's layers, without a leading `./` or a trailing `/`. */
  files: Set<string>;
}

const tarOf = (name: string) => join(imagesDir, `${name}.tar`);
const absent = (name: string) =>
  !existsSync(tarOf(name)) &&
  `${tarOf(name)} is absent: images/build.sh builds it (scripts/setup.sh runs it where the host can: root and apt)`;

async function readArchive(tar: string): Promise<Archive> {
  const member = async (m: string) =>
    (await run('tar', ['-xOf', tar, m], { maxBuffer: 64 * MB, encoding: 'utf8' })).stdout;
  const [entry] = JSON.parse(await member('manifest.json')) as {
    Config: string;
    RepoTags: string[];
    Layers: string[];
  }[];
  assert.ok(entry, `${tar}: manifest.json lists no image`);
  const { config } = JSON.parse(await member(entry.Config)) as { config: ImageConfig };
  const files = new Set<string>();
  for (const layer of entry.Layers) {
    const { stdout } = await run('sh', ['-c', 'tar -xOf "$1" "$2" | tar -t', 'sh', tar, layer], {
      maxBuffer: 64 * MB,
    });
    for (const line of stdout.split('\n')) {
      const path = line.replace(/^\.?\//, '').replace(/\/$/, '');
      if (path !== '') files.add(path);
    }
  }
  return { repoTags: entry.RepoTags, config, layers: entry.Layers, files };
}

/** Unpacks the image's layers, in order, into a fresh folder (as root: owners and modes kept). */
async function unpack(tar: string, archive: Archive, dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  for (const layer of archive.layers) {
    await run('sh', ['-c', 'tar -xOf "$1" "$2" | tar -x -C "$3"', 'sh', tar, layer, rootfs]);
  }
  return rootfs;
}

const nonRoot = (user: string | undefined) => {
  const uid = (user ?? '').split(':')[0] ?? '';
  return uid !== '' && uid !== '0' && uid !== 'root';
};
/** The JSON array of the Dockerfile's last `KEYWORD [...]` line. */
async function dockerfileArray(keyword: string): Promise<string[]> {
  const lines = (await readFile(repoFile('Dockerfile'), 'utf8')).split('\n');
  const line = lines.filter((l) => l.startsWith(`${keyword} `)).at(-1);
  assert.ok(line, `the Dockerfile has no ${keyword}`);
  return JSON.parse(line.slice(keyword.length + 1)) as string[];
}

/** A tar's size in MB (10^6 bytes), as docs/images.md and the README give it. */
const sizeMB = async (tar: string) => (await stat(tar)).size / 1e6;

describe('the pause image', () => {
  test('is catatonit alone, in pause mode, as a non-root user', { skip: absent('pause') }, async (t) => {
    t.diagnostic(`pause.tar: ${(await sizeMB(tarOf('pause'))).toFixed(1)} MB`);
    const a = await readArchive(tarOf('pause'));
    assert.deepEqual(a.repoTags, ['localhost/pause:local']);
    assert.deepEqual(a.config.Entrypoint, ['/usr/bin/catatonit', '-P']);
    assert.ok(nonRoot(a.config.User), `User is ${a.config.User ?? 'unset'}`);
    assert.ok(a.files.has('usr/bin/catatonit'));
    assert.ok(!a.files.has('bin/sh'));
  });
});

describe("the worker image (seed 000's worker)", () => {
  let dir: string | undefined;
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test(
    'has a POSIX sh, the worker at its own and seed 000 paths, and runs as non-root',
    { skip: absent('kjd-worker') },
    async (t) => {
      t.diagnostic(`kjd-worker.tar: ${(await sizeMB(tarOf('kjd-worker'))).toFixed(1)} MB`);
      const a = await readArchive(tarOf('kjd-worker'));
      assert.deepEqual(a.repoTags, ['localhost/kjd-worker:local']);
      assert.ok(nonRoot(a.config.User), `User is ${a.config.User ?? 'unset'}`);
      assert.deepEqual(a.config.Entrypoint, ['/usr/local/bin/kjd-worker']);
      assert.equal(a.config.WorkingDir, '/', "seed 000's template runs the relative bin/sh");
      for (const f of [
        'bin/sh',
        'bin/dash',
        'bin/touch',
        'bin/id',
        'usr/local/bin/kjd-worker',
        'go/bin/image_worker',
      ]) {
        assert.ok(a.files.has(f), `${f} is missing`);
      }
    },
  );

  test(
    'keeps a hostile value as one argument, and exits with EXIT_CODE and its termination message',
    { skip: absent('kjd-worker') || notRoot },
    async () => {
      const tar = tarOf('kjd-worker');
      dir = await mkdtemp(join(tmpdir(), 'kjd-images-'));
      const rootfs = await unpack(tar, await readArchive(tar), dir);
      const hostile = '1; touch /tmp/pwned $(id)';
      const shell = await run(chrootRun, [
        '--user',
        '65534:65534',
        rootfs,
        'sh',
        '-c',
        'printf "arg: [%s]\\n" "$1"',
        'sh',
        hostile,
      ]);
      assert.equal(shell.stdout, `arg: [${hostile}]\n`);
      assert.ok(!existsSync(join(rootfs, 'tmp', 'pwned')), 'the hostile value ran touch');

      const termlog = join(dir, 'termination-log');
      const failed = await run(chrootRun, [
        '--user',
        '65534:65534',
        '--env',
        'EXIT_CODE=3',
        '--termlog',
        termlog,
        rootfs,
        '/go/bin/image_worker',
        '-custom=3; rm -rf /',
        'b c',
      ]).then(
        () => assert.fail('the worker exited 0, want 3'),
        (e: unknown) => e as { code: number; stdout: string },
      );
      assert.equal(failed.code, 3);
      assert.equal(failed.stdout, 'arg: [-custom=3; rm -rf /]\narg: [b c]\n');
      assert.equal(await readFile(termlog, 'utf8'), 'exit 3, 2 argument(s)');
      assert.ok(existsSync(join(rootfs, 'bin', 'rm')), 'rm exists, so it would have run');
    },
  );
});

describe("kjd's image", () => {
  let dir: string | undefined;
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test(
    "runs as 10001 with the Dockerfile's node entrypoint, and has no shell",
    { skip: absent('kjd') },
    async () => {
      const a = await readArchive(tarOf('kjd'));
      assert.deepEqual(a.repoTags, ['localhost/kjd:local']);
      assert.equal(a.config.User, '10001:10001');
      const entrypoint = a.config.Entrypoint ?? [];
      assert.deepEqual(entrypoint, await dockerfileArray('ENTRYPOINT'));
      assert.deepEqual(a.config.Cmd, await dockerfileArray('CMD'));
      assert.equal(entrypoint[0], '/usr/local/bin/node', 'the entrypoint is node, not a shell');
      assert.ok(entrypoint.includes('--max-semi-space-size=4'));
      assert.ok(a.config.Env?.includes('NODE_ENV=production'));
      const shells = [...a.files].filter((f) => /(^|\/)(sh|bash|dash|ash|busybox)$/.test(f));
      assert.deepEqual(shells, [], 'the image has a shell');
      for (const f of [
        'usr/local/bin/node',
        'lib64/ld-linux-x86-64.so.2',
        'app/bin/kjd.mjs',
        'app/dist/src/cli/kjd.js',
        'app/node_modules/@kubernetes/client-node/package.json',
        'etc/passwd',
      ]) {
        assert.ok(a.files.has(f), `${f} is missing`);
      }
      assert.ok(!a.files.has('app/node_modules/typescript'), 'a dev dependency is in the image');
    },
  );

  test("its size is the README's", { skip: absent('kjd') }, async (t) => {
    const mb = await sizeMB(tarOf('kjd'));
    t.diagnostic(`kjd.tar: ${mb.toFixed(1)} MB`);
    const readme = await readFile(repoFile('README.md'), 'utf8');
    const stated = /kjd's image is (\d+) MB/.exec(readme)?.[1];
    assert.ok(stated, 'the README gives no "kjd\'s image is N MB"');
    // Within 10%: dependency bumps move it a little; more means the README is out of date.
    assert.ok(
      Math.abs(mb - Number(stated)) <= Number(stated) / 10,
      `kjd.tar is ${mb.toFixed(1)} MB, the README says ${stated} MB: update it (and docs/images.md)`,
    );
  });

  test(
    'kjd starts in it, as 10001, on a read-only root filesystem',
    { skip: absent('kjd') || notRoot },
    async () => {
      const tar = tarOf('kjd');
      const a = await readArchive(tar);
      dir = await mkdtemp(join(tmpdir(), 'kjd-images-'));
      const rootfs = await unpack(tar, a, dir);
      const inImage = (...args: string[]) =>
        run(chrootRun, ['--ro', '--user', '10001:10001', '--env', 'NODE_ENV=production', rootfs, ...args]);
      const help = await inImage(...(a.config.Entrypoint ?? []), '--help');
      assert.match(help.stdout, /^Usage: kjd /);
      const version = await inImage('/usr/local/bin/node', '-p', 'process.version');
      assert.match(version.stdout, /^v24\./);
      // The whole library loads: every production dependency is there.
      await inImage(
        '/usr/local/bin/node',
        '--input-type=module',
        '-e',
        "await import('/app/dist/src/index.js')",
      );
    },
  );
});
