// Loopback networking helpers for the local environment.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  // Hold each listener until all are chosen so no two picks collide.
  const held = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.on('error', reject);
          s.listen(0, '127.0.0.1', () => {
            resolve(s);
          });
        }),
    ),
  );
  const ports = held.map((s) => {
    const a = s.address();
    if (a === null || typeof a !== 'object') throw new Error('no port');
    return a.port;
  });
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface TlsClient {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Accept any server certificate (components that self-sign their serving cert). */
  readonly insecure?: boolean;
}

/** GET over HTTPS; resolves with status, headers and body text, never throws on HTTP status. */
export async function httpsGet(
  url: string,
  tls: TlsClient,
  timeoutMs = 2000,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: tls.insecure !== true,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
