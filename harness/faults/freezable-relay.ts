// A TCP relay that can stop forwarding without closing anything: both ends
// keep their connection and see no error, but no byte gets through. Put
// between a Redis replica and its primary, it holds replication back while
// both servers look healthy, so the primary acknowledges writes no replica
// has: exactly the window in which a failover loses acknowledged writes.
import { connect, createServer, type Socket } from 'node:net';
import { freePorts } from '../net.ts';

export interface FreezableRelay {
  readonly port: number;
  /** From now on nothing is forwarded (bytes already relayed stay delivered). */
  freeze(): void;
  /** Closes every relayed connection and the listener; what was held back is dropped. */
  close(): Promise<void>;
}

export async function startFreezableRelay(upstreamPort: number): Promise<FreezableRelay> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer((client) => {
    const up = connect(upstreamPort, '127.0.0.1');
    const drop = () => {
      client.destroy();
      up.destroy();
    };
    for (const [from, to] of [
      [client, up],
      [up, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        drop();
      });
      from.on('error', drop);
    }
  });
  const [port = 0] = await freePorts(1);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    freeze() {
      frozen = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
