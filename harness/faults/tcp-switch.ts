// A plain TCP relay whose upstream for NEW connections can be changed while
// existing connections stay where they were. With toxiproxy behind it, this
// models what issue 11 item 6 saw: connections that went half-open stay dead
// (the toxic stays on them) while new connections work (they go elsewhere).
// toxiproxy alone cannot do that: removing a toxic revives every connection.
import { createServer, connect, type Socket } from 'node:net';
import { freePorts } from '../net.ts';

export interface TcpSwitch {
  readonly listen: string;
  /** host:port for connections accepted from now on. */
  route(upstream: string): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(upstream: string): Promise<TcpSwitch> {
  let target = upstream;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const [host = '127.0.0.1', port = '0'] = target.split(':');
    const up = connect(Number(port), host);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up);
    up.pipe(client);
  });
  const [port] = await freePorts(1);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    listen: `127.0.0.1:${port ?? 0}`,
    route(next) {
      target = next;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
