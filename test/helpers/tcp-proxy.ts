/**
 * Test helper: a TCP proxy in front of a server, able to lose one reply on purpose.
 * `loseReplyTo({ containing, end })` arms it: on the first connection whose bytes since its
 * last `end` marker contain `containing` when the next `end` arrives (for Redis: a MULTI
 * block naming a key, up to its EXEC; both matched ignoring case), the request is forwarded, then that connection's
 * replies stop flowing and, `holdMs` later, both sides are closed. The server has received
 * (and so applied) the request; the client never hears back. With `forward: false` the
 * write holding the `end` marker is not passed on: the server never gets the request and
 * sees the connection close. A request may arrive in several writes (ioredis writes each
 * command of a pipeline on its own).
 * `requests()` counts the chunks clients sent since the last call: a client that waits for
 * each reply before it writes again (a round trip) shows one chunk per round trip at least.
 * Invariants: `close()` ends every connection and the listener.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Arms the proxy for one lost reply; resolves when it happened. */
  loseReplyTo(
    request: { containing: string; end: string; forward?: boolean },
    holdMs?: number,
  ): Promise<void>;
  /** Chunks received from clients since the last call (or since the start). */
  requests(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let chunks = 0;
  let armed:
    { containing: string; end: string; forward?: boolean; holdMs: number; done: () => void } | undefined;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: targetHost });
    let deaf = false;
    let since = ''; // bytes since the last end marker, while armed
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      chunks++;
      const a = armed;
      if (!a) {
        upstream.write(chunk);
        return;
      }
      since += chunk.toString('latin1').toLowerCase();
      const ends = since.includes(a.end.toLowerCase());
      const hit = ends && since.includes(a.containing.toLowerCase());
      if (!hit || a.forward !== false) upstream.write(chunk);
      if (!ends) return;
      since = '';
      if (hit) {
        armed = undefined;
        deaf = true;
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
          a.done();
        }, a.holdMs);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!deaf) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tcp proxy: no port');
  return {
    port: addr.port,
    loseReplyTo: (request, holdMs = 200) =>
      new Promise<void>((resolve) => {
        armed = { ...request, holdMs, done: resolve };
      }),
    requests: () => {
      const n = chunks;
      chunks = 0;
      return n;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
