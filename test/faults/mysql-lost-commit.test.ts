/**
 * Fault test: a MySQL/MariaDB COMMIT whose reply is lost with the connection (a TCP proxy
 * between the client and a real server drops it after the server got it). MySQL keeps no
 * record to ask, so the operation fails with EIO saying the outcome is unknown; it is not
 * run again (it was applied), and the client neither crashes nor stays broken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errno } from '../../src/base/errno.js';
import { openMeta } from '../../src/meta/base-meta.js';
import { formatEmptyVolume, n, root } from '../helpers/meta-fixture.js';
import { mariadbSkipReason, startMariadb, type MariadbServer } from '../helpers/mariadb-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const why = mariadbSkipReason();
if (why !== undefined) console.warn(`skipping MySQL lost-commit test: ${why}`);

describe.skipIf(why !== undefined)('a MySQL COMMIT whose reply is lost', () => {
  let server: MariadbServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await startMariadb();
    proxy = await startTcpProxy(server.port);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('fails with EIO naming the unknown outcome, is not run again, and the client goes on', async () => {
    await server.sql('CREATE DATABASE lost');
    const url = `${server.baseUrl}lost`;
    await formatEmptyVolume(url, 'lost');
    const m = await openMeta(url.replace(`:${server.port})/`, `:${proxy.port})/`), {
      retry: { retries: 10, minBackoffMs: 20, maxBackoffMs: 500 },
      skipDirMtimeMs: 0,
    });
    await m.start({ MountPoint: '/lost' }, { heartbeat: false });
    try {
      await m.mkdir(root, 1n, n('first'), 0o755);
      // Names travel as hex literals: X'7365636f6e64' is 'second'.
      const lost = proxy.loseReplyTo({ containing: "X'7365636f6e64'", end: 'COMMIT' });
      await expect(m.mkdir(root, 1n, n('second'), 0o755)).rejects.toMatchObject({
        errno: Errno.EIO,
        message: expect.stringMatching(/outcome is unknown/) as unknown,
      });
      await lost;
      // The server had it: applied once, not retried.
      expect((await m.lookup(root, 1n, n('second'))).attr.type).toBe(2);
      expect((await m.getattr(root, 1n)).nlink).toBe(4);
      await m.mkdir(root, 1n, n('third'), 0o755);
    } finally {
      await m.stop();
    }
  }, 120_000);
});
