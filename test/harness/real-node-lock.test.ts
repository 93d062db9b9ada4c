// The host's one real-node slot (harness/node/host-lock.ts), on a record file
// of the test's own: no node is started, nothing on the host changes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const dir = await mkdtemp(join(tmpdir(), 'kjd-host-lock-'));
process.env.KJD_REAL_NODE_RECORD = join(dir, 'record.json');
const lock = await import('../../harness/node/host-lock.ts');

const record = (clusterDir: string, claimedBy?: number) => ({
  clusterDir,
  nodeDir: join(clusterDir, 'node'),
  nodeName: 'kjd-real-node',
  socket: join(clusterDir, 'node', 'containerd', 'containerd.sock'),
  pids: [],
  ...(claimedBy === undefined ? {} : { claimedBy }),
  host: { sysctls: {}, chains: {}, existingPaths: [] },
});

describe('the real node host record', () => {
  after(() => rm(dir, { recursive: true, force: true }));

  test('of two claims, the second gets RealNodeBusyError naming the first', async () => {
    await lock.claimHostRecord(record('/src/a/.kjd/clusters/local', process.pid));
    await assert.rejects(lock.claimHostRecord(record('/src/b/.kjd/clusters/local')), (err: unknown) => {
      assert.ok(err instanceof lock.RealNodeBusyError);
      assert.equal(err.owner, '/src/a/.kjd/clusters/local');
      assert.match(err.message, /`npm run cluster:down` in \/src\/a\.$/);
      return true;
    });
    await lock.removeHostRecord();
  });

  test('a claim is live while its claimer runs, before containerd and the kubelet exist', () => {
    assert.equal(lock.recordIsLive(record('/c', process.pid)), true);
    assert.equal(lock.recordIsLive(record('/c')), false);
    assert.equal(lock.recordIsLive(record('/c', 2 ** 22 + 1)), false, 'no such pid');
  });

  test("a test run's cluster: the message says it goes when that run ends", () => {
    const err = new lock.RealNodeBusyError('/src/a/.kjd/clusters/test-4242');
    assert.match(err.message, /test run of pid 4242 and goes when that run ends/);
  });
});
