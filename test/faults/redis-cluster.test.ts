/**
 * Redis Cluster (3 masters + 3 replicas) under a real mount on `redis://h:p1,h:p2,h:p3/1`:
 * POSIX operations, a live migration of the slot holding every `{1}` key while a program
 * works on the mount (the client meets ASK, TRYAGAIN and then MOVED replies), and a master
 * SIGKILLed mid-run with its replica taking over. The program sees no error and the tree it
 * built is exactly what it expects, read back through the mount and through a fresh API
 * client on the cluster URL.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolume } from '../../src/api/volume.js';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, type Mount, type Volume, useE2eEnv } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';
import { startRedisCluster, type RedisClusterSet } from '../helpers/redis-cluster.js';
import { cli, sentinelMissing } from '../helpers/redis-sentinel.js';

const POSIX_PY = `import os, sys
d = sys.argv[1] + '/posix'
os.mkdir(d)
with open(d + '/a', 'wb') as f: f.write(b'x' * 100000); f.flush(); os.fsync(f.fileno())
assert open(d + '/a', 'rb').read() == b'x' * 100000
os.rename(d + '/a', d + '/b')
assert not os.path.exists(d + '/a') and os.path.getsize(d + '/b') == 100000
os.truncate(d + '/b', 10)
assert open(d + '/b', 'rb').read() == b'x' * 10
os.symlink('b', d + '/s'); assert os.readlink(d + '/s') == 'b' and open(d + '/s').read() == 'x' * 10
os.link(d + '/b', d + '/h'); assert os.stat(d + '/b').st_nlink == 2
os.setxattr(d + '/b', 'user.k', b'v'); assert os.getxattr(d + '/h', 'user.k') == b'v'
assert 'user.k' in os.listxattr(d + '/b'); os.removexattr(d + '/b', 'user.k')
os.mkdir(d + '/sub'); os.mkdir(d + '/sub/deep')
for i in range(20): open(f'{d}/sub/f{i}', 'w').write(str(i))
assert sorted(os.listdir(d + '/sub')) == sorted(['deep'] + [f'f{i}' for i in range(20)])
os.rename(d + '/sub', d + '/moved')
for i in range(20): os.unlink(f'{d}/moved/f{i}')
os.rmdir(d + '/moved/deep'); os.rmdir(d + '/moved')
os.unlink(d + '/b'); assert os.stat(d + '/h').st_nlink == 1
assert sorted(os.listdir(d)) == ['h', 's']
print('ok', flush=True)
`;

/**
 * Works on argv[1]/argv[2] until the file argv[3] exists: writes and fsyncs w{i}, renames it
 * to r{i}, makes dir{i} and a symlink every 5th step, removes r{i-1} every 7th, lists the
 * dir every 10th. Prints "<i> <time>" per step, then checks the whole tree and prints
 * "done <n>".
 */
const WORKER_PY = `import os, sys, time
d = os.path.join(sys.argv[1], sys.argv[2]); stop = sys.argv[3]
os.mkdir(d)
def content(i): return (f'data {i} ' * (i % 50 + 1)).encode()
def expected(n):
    names = {}
    for i in range(n):
        names[f'r{i}'] = content(i)
        if i % 5 == 0: names[f'dir{i}'] = None; names[f'ln{i}'] = f'r{i}'
        if i % 7 == 3 and i > 0: names.pop(f'r{i-1}', None)
    return names
i = 0
while not os.path.exists(stop) or i < 20:
    with open(f'{d}/w{i}', 'wb') as f:
        f.write(content(i)); f.flush(); os.fsync(f.fileno())
    os.rename(f'{d}/w{i}', f'{d}/r{i}')
    if i % 5 == 0: os.mkdir(f'{d}/dir{i}'); os.symlink(f'r{i}', f'{d}/ln{i}')
    if i % 7 == 3 and i > 0: os.unlink(f'{d}/r{i-1}')
    if i % 10 == 0: assert set(os.listdir(d)) == set(expected(i + 1)), 'listing'
    print(i, round(time.time(), 3), flush=True)
    i += 1
    time.sleep(0.01)
exp = expected(i)
assert set(os.listdir(d)) == set(exp), 'final listing'
for name, v in exp.items():
    p = f'{d}/{name}'
    if v is None: assert os.path.isdir(p), name
    elif isinstance(v, str): assert os.readlink(p) == v, name
    else: assert open(p, 'rb').read() == v, name
print('done', i, flush=True)
`;

function content(i: number): string {
  return `data ${i} `.repeat((i % 50) + 1);
}

const missing = sentinelMissing() ?? (fuseAvailable() ? undefined : 'FUSE not available');
if (missing) console.warn(`skipping redis-cluster tests: ${missing}`);

describe.skipIf(missing !== undefined)('a mount on a Redis Cluster', () => {
  const e = useE2eEnv('cluster');
  let cluster: RedisClusterSet;
  let m: Mount;
  let slot = 0;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    slot = Number(await cli(cluster.ports[0] ?? 0, ['CLUSTER', 'KEYSLOT', '{1}']));
    const dir = join(e().base, 'vol');
    const vol: Volume = { kind: 'redis-file', name: 'cluster', metaUrl: cluster.url, dir };
    const args = ['--storage', 'file', '--bucket', join(dir, 'bucket') + '/', '--trash-days', '0'];
    ok(await tjfs(['format', cluster.url, 'cluster', ...args]), 'format');
    m = await e().mount(vol);
  }, 90_000);
  afterAll(async () => {
    await e().unmount(m);
    await cluster?.stop();
  }, 60_000);

  const fail = (what: string, stderr: string): string =>
    `${what}: ${stderr}\nmount log:\n${m.log().slice(-4000)}`;

  /** Runs the worker in `sub` while `during` runs; returns the number of steps it made. */
  async function workThrough(sub: string, during: () => Promise<void>): Promise<number> {
    const stop = join(e().base, `stop-${sub}`);
    const w = Interactive.python(WORKER_PY, [m.mp, sub, stop]);
    try {
      let line = '';
      while (!line.startsWith('10 ')) line = await w.nextLine(30_000);
      await during();
      writeFileSync(stop, '');
      while (!line.startsWith('done')) line = await w.nextLine(90_000);
      const end = await w.finish();
      expect(end.code, fail('worker', end.stderr)).toBe(0);
      return Number(line.split(' ')[1]);
    } catch (err) {
      w.kill();
      const end = await w.finish();
      throw new Error(fail(String(err), end.stderr));
    } finally {
      if (!existsSync(stop)) writeFileSync(stop, '');
    }
  }

  /** A fresh API client on the cluster URL reads back what the worker left in `sub`. */
  async function checkThroughApi(sub: string, n: number): Promise<void> {
    const api = await openVolume(cluster.url);
    try {
      const names = new Set(await api.readdir(`/${sub}`));
      for (let i = 0; i < n; i++) {
        const removed = (i + 1) % 7 === 3 && i + 1 < n;
        expect(names.has(`r${i}`), `r${i}`).toBe(!removed);
        if (!removed) expect((await api.readFile(`/${sub}/r${i}`)).toString()).toBe(content(i));
      }
    } finally {
      await api.close();
    }
  }

  it('serves POSIX operations', async () => {
    expect(ok(await py(POSIX_PY, [m.mp]), 'posix').trim()).toBe('ok');
  }, 60_000);

  it('goes on through a live migration of the {1} slot (ASK, then MOVED)', async () => {
    const from = await cluster.ownerOf(slot);
    const masters = (await cluster.nodes()).filter((x) => x.role === 'master').map((x) => x.port);
    const target = masters.find((p) => p !== from) ?? 0;
    let moved = 0;
    const n = await workThrough('migrate', async () => {
      moved = await cluster.migrateSlot(slot, from, target, 30);
    });
    expect(moved).toBeGreaterThan(20);
    expect(await cluster.ownerOf(slot)).toBe(target);
    await checkThroughApi('migrate', n);
  }, 120_000);

  it('goes on after the master of the {1} slot is killed and its replica takes over', async () => {
    const master = await cluster.ownerOf(slot);
    let promoted = 0;
    const n = await workThrough('failover', async () => {
      promoted = await cluster.killMaster(master);
    });
    expect(await cluster.ownerOf(slot)).toBe(promoted);
    await checkThroughApi('failover', n);
    expect(ok(await py(`import os; print(sorted(os.listdir('${m.mp}/posix')))`), 'ls').trim()).toBe(
      "['h', 's']",
    );
  }, 120_000);
});
