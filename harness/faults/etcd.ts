// etcd compaction through etcd's v3 gRPC gateway (JSON over HTTPS with the
// apiserver's etcd client certificate; etcdctl is not installed). Every
// revision before the compacted one is gone, so a watch that resumes from an
// older resourceVersion gets 410 Gone (Expired) from the API server once it
// reaches etcd (no watch cache, or after the cache was rebuilt).
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import type { LocalCluster } from '../cluster/local-cluster.ts';
import { httpsGet } from '../net.ts';

export interface EtcdClient {
  /** The store's current revision. */
  revision(): Promise<number>;
  /** Compacts (physically) up to the current revision; returns it. */
  compactNow(): Promise<number>;
}

export async function etcdClient(cluster: LocalCluster): Promise<EtcdClient> {
  const pki = join(cluster.dir, 'pki');
  const tls = {
    ca: await readFile(cluster.caFile),
    cert: await readFile(join(pki, 'etcd-client.crt')),
    key: await readFile(join(pki, 'etcd-client.key')),
  };
  const base = `https://127.0.0.1:${cluster.ports.etcdClient}`;
  const post = (path: string, body: unknown) => postJson(`${base}${path}`, body, tls);
  const revision = async () => {
    // A range over a key that need not exist still answers with the header's revision.
    const res = (await post('/v3/kv/range', { key: Buffer.from('/kjd-faults').toString('base64') })) as {
      header?: { revision?: string };
    };
    const rev = Number(res.header?.revision);
    if (!Number.isSafeInteger(rev)) throw new Error(`etcd range: no revision in ${JSON.stringify(res)}`);
    return rev;
  };
  return {
    revision,
    async compactNow() {
      const rev = await revision();
      await post('/v3/kv/compaction', { revision: String(rev), physical: true });
      return rev;
    },
  };
}

function postJson(
  url: string,
  body: unknown,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ...tls, timeout: 10_000, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300)
            reject(new Error(`etcd ${url}: HTTP ${res.statusCode ?? 0} ${text}`));
          else resolve(JSON.parse(text) as unknown);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`etcd ${url}: timeout`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Proof that the fault is there: a watch of Jobs in `namespace` from
 * `resourceVersion` (taken before the compaction) is answered with 410 —
 * as an HTTP status or as the watch's ERROR event.
 */
export async function watchIsGone(
  cluster: LocalCluster,
  namespace: string,
  resourceVersion: string,
): Promise<boolean> {
  const pki = join(cluster.dir, 'pki');
  const tls = {
    ca: await readFile(cluster.caFile),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  };
  const url = `${cluster.server}/apis/batch/v1/namespaces/${namespace}/jobs?watch=1&timeoutSeconds=2&resourceVersion=${resourceVersion}`;
  const { status, body } = await httpsGet(url, tls, 10_000);
  return status === 410 || /"code":410/.test(body);
}
