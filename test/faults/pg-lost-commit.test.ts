/**
 * Fault tests: a PostgreSQL COMMIT whose reply is lost with the connection (a TCP proxy
 * between the client and a real server drops it). The engine asks the server what became
 * of the transaction (txid_status) instead of failing with EIO: a committed one is done
 * once, one that never reached the server runs again once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMeta, type BaseMeta } from '../../src/meta/base-meta.js';
import { formatEmptyVolume, n, root } from '../helpers/meta-fixture.js';
import { pgSkipReason, startPg, type PgServer } from '../helpers/pg-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const why = pgSkipReason();
if (why !== undefined) console.warn(`skipping PostgreSQL lost-commit tests: ${why}`);

describe.skipIf(why !== undefined)('a PostgreSQL COMMIT whose reply is lost', () => {
  let server: PgServer;
  let proxy: TcpProxy;
  let schemas = 0;
  beforeAll(async () => {
    server = await startPg();
    await server.sql('CREATE DATABASE tjfs');
    proxy = await startTcpProxy(server.port);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  /** A formatted volume in a fresh schema, and a client that talks through the proxy. */
  async function client(): Promise<BaseMeta> {
    const schema = `lost${schemas++}`;
    await server.sql(`CREATE SCHEMA ${schema}`, 'tjfs');
    const url = `${server.baseUrl}tjfs?search_path=${schema}`;
    await formatEmptyVolume(url, 'lost');
    const m = await openMeta(url.replace(`:${server.port}/`, `:${proxy.port}/`), {
      retry: { retries: 10, minBackoffMs: 20, maxBackoffMs: 500 },
      skipDirMtimeMs: 0,
    });
    await m.start({ MountPoint: '/lost' }, { heartbeat: false });
    return m;
  }

  // forward: the COMMIT of the transaction that inserted the edge 'second' reaches the
  // server and only its reply is lost; otherwise the COMMIT itself never gets there.
  it.each([
    { title: 'after the server committed it, the operation succeeds once, not twice', forward: true },
    { title: 'when the COMMIT never reached the server, the transaction runs again, once', forward: false },
  ])(
    '$title',
    async ({ forward }) => {
      const m = await client();
      try {
        await m.mkdir(root, 1n, n('first'), 0o755);
        const lost = proxy.loseReplyTo({ containing: 'second', end: 'COMMIT', forward });
        const mk = await m.mkdir(root, 1n, n('second'), 0o755);
        await lost;
        expect((await m.lookup(root, 1n, n('second'))).ino).toBe(mk.ino);
        expect((await m.getattr(root, 1n)).nlink).toBe(4);
      } finally {
        await m.stop();
      }
    },
    60_000,
  );
});
