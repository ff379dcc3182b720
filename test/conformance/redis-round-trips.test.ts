/**
 * Round trips to Redis per metadata operation, counted at a TCP proxy in front of a real
 * redis-server: each round trip is at least one chunk the client sends (it waits for the
 * reply before it writes again), and commands sent in one turn of the event loop leave in
 * one write (redis-conn.ts coalesceWrites). Checks what DESIGN §10 says a small file costs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BaseMeta } from '../../src/meta/base-meta.js';
import { FileType, ROOT_INODE, type Ino } from '../../src/base/types.js';
import { alice, makeVolume, n, root, type Volume } from '../helpers/meta-fixture.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let server: RedisServer;
let proxy: TcpProxy;
let vol: Volume;
let m: BaseMeta;
let dir: Ino;
let seq = 0;

beforeAll(async () => {
  server = await startRedis();
  proxy = await startTcpProxy(server.port);
  const url = server.url.replace(`:${server.port}/`, `:${proxy.port}/`);
  vol = await makeVolume({ name: 'redis-via-proxy', freshUrl: () => Promise.resolve(url) }, { TrashDays: 1 });
  m = await vol.client();
});

afterAll(async () => {
  await vol?.close();
  await proxy?.close();
  await server?.stop();
});

beforeEach(async () => {
  dir = (await m.mkdir(root, ROOT_INODE, n(`d${seq++}`), 0o755)).ino;
});

/** Round trips `op` takes (chunks the proxy saw from the client while it ran). */
async function roundTrips(op: () => Promise<unknown>): Promise<number> {
  proxy.requests();
  await op();
  return proxy.requests();
}

describe('Redis round trips per operation', () => {
  it('a lookup of a missing name is one round trip: the parent comes with it', async () => {
    await m.lookup(root, dir, n('warm')).catch(() => undefined); // the server learns the script
    const trips = await roundTrips(() =>
      m.lookup(root, dir, n('missing')).then(
        () => expect.fail('found'),
        (e: unknown) => expect((e as { code?: string }).code).toBe('ENOENT'),
      ),
    );
    expect(trips).toBe(1);
  });

  it('a lookup by a caller other than root is one round trip', async () => {
    const f = await m.create(root, dir, n('f'), 0o644);
    let found: Ino | undefined;
    const trips = await roundTrips(async () => (found = (await m.lookup(alice, dir, n('f'))).ino));
    expect(found).toBe(f.ino);
    expect(trips).toBe(1);
  });

  it('a create reads in one round trip and commits in a second', async () => {
    await m.create(root, dir, n('warm'), 0o644); // inode numbers are taken in batches
    let type: number | undefined;
    const trips = await roundTrips(async () => (type = (await m.create(root, dir, n('g'), 0o644)).attr.type));
    expect(type).toBe(FileType.File);
    expect(trips).toBe(2);
  });

  it('a listing with attributes is two round trips: the directory with its names, then their attributes', async () => {
    for (const name of ['x', 'y', 'z']) await m.create(root, dir, n(name), 0o644);
    let names: string[] = [];
    const trips = await roundTrips(
      async () =>
        (names = (await m.readdir(alice, dir, { plus: true })).map((e) => `${e.name}:${e.attr?.type}`)),
    );
    expect(names.sort()).toEqual(['x', 'y', 'z'].map((x) => `${x}:${FileType.File}`));
    expect(trips).toBe(2);
    // The listing is read beside the attributes but not handed to a caller they refuse.
    await m.setattr(root, dir, { mode: 0o700 });
    await expect(m.readdir(alice, dir)).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('an unlink into the trash of a name another client made reads in two round trips and commits in a third', async () => {
    const other = await vol.client();
    await other.create(root, dir, n('a'), 0o644);
    await other.create(root, dir, n('b'), 0o644);
    await m.unlink(root, dir, n('a')); // makes this hour's trash directory
    const trips = await roundTrips(() => m.unlink(root, dir, n('b')));
    expect(trips).toBe(3);
    await expect(m.lookup(root, dir, n('b'))).rejects.toMatchObject({ code: 'ENOENT' });
    const hour = (await m.readdir(root, await trashHourDir())).map((e) => e.name.toString());
    expect(hour.filter((x) => x.startsWith(`${dir}-`) && x.endsWith('-b'))).toHaveLength(1);
  });

  it('an unlink of a name this client made or looked up reads in one round trip (the inode guessed) and commits in a second', async () => {
    const other = await vol.client();
    await m.create(root, dir, n('a'), 0o644);
    await m.create(root, dir, n('b'), 0o644);
    const c = await other.create(root, dir, n('c'), 0o644);
    await m.unlink(root, dir, n('a')); // makes this hour's trash directory
    expect(await roundTrips(() => m.unlink(root, dir, n('b')))).toBe(2);
    expect((await m.lookup(root, dir, n('c'))).ino).toBe(c.ino);
    expect(await roundTrips(() => m.unlink(root, dir, n('c')))).toBe(2);
    const hour = (await m.readdir(root, await trashHourDir())).map((e) => e.name.toString());
    expect(hour.filter((x) => x.startsWith(`${dir}-`) && /-[bc]$/.test(x))).toHaveLength(2);
  });

  it('a wrong guess costs only the round trip it saves: a name another client replaced is removed as it is now', async () => {
    const other = await vol.client();
    const old = await m.create(root, dir, n('r'), 0o644); // this client guesses `old` for r
    await other.unlink(root, dir, n('r'));
    const now = await other.create(root, dir, n('r'), 0o600);
    expect(now.ino).not.toBe(old.ino);
    expect(await roundTrips(() => m.unlink(root, dir, n('r')))).toBe(3);
    const hour = await m.readdir(root, await trashHourDir(), { plus: true });
    const trashed = hour.filter((e) => e.name.toString().startsWith(`${dir}-`)).map((e) => e.ino);
    expect(trashed.sort()).toEqual([old.ino, now.ino].sort());
  });

  it('a rename of a name this client made reads in one round trip and commits in a second; of one it never saw, in three', async () => {
    const other = await vol.client();
    await m.create(root, dir, n('s'), 0o644);
    await other.create(root, dir, n('t'), 0o644);
    await m.create(root, dir, n('u'), 0o644);
    await m.unlink(root, dir, n('u')); // makes this hour's trash directory (a replaced name goes there)
    expect(await roundTrips(() => m.rename(root, dir, n('s'), dir, n('s2'), 0))).toBe(2);
    expect(await roundTrips(() => m.rename(root, dir, n('t'), dir, n('t2'), 0))).toBe(3);
    // Over an existing name this client saw: both attrs come with the entries.
    expect(await roundTrips(() => m.rename(root, dir, n('s2'), dir, n('t2'), 0))).toBe(2);
    const names = (await m.readdir(root, dir)).map((e) => e.name.toString());
    expect(names).toEqual(['t2']);
  });
});

async function trashHourDir(): Promise<Ino> {
  const trash = await m.lookup(root, ROOT_INODE, n('.trash'));
  const hours = (await m.readdir(root, trash.ino)).filter((e) => !e.name.toString().startsWith('.'));
  const last = hours.at(-1);
  if (last === undefined) throw new Error('no trash hour directory');
  return last.ino;
}
