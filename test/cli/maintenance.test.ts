/**
 * The maintenance commands end to end on a real mount, on SQLite and Redis metadata:
 * `clone` (shared slices: the copy reads the same bytes, the objects are not copied, and
 * deleting the source leaves the copy readable), `compact` (a file written in many pieces
 * ends with one slice per chunk, same bytes), `warmup` (--evict empties the cache of a file,
 * --check reports 0 %, warmup brings it to 100 %), `destroy` (UUID check, live sessions
 * refused, then every object and the metadata gone) and `version`; plus bad arguments.
 * Every access to a mount runs in a child process (sh, python3) or in the CLI child.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { blockCount, tjfs, useE2eEnv, type VolumeKind } from '../helpers/mount.js';
import { ok, py, run } from '../helpers/proc.js';

const canMount = fuseAvailable();
const hasRedis = existsSync('/usr/bin/redis-server');
if (!canMount) console.warn('maintenance: FUSE unavailable, skipped');
if (!hasRedis) console.warn('maintenance: redis-server missing, Redis cases skipped');

/** python: writes argv[3] bytes of a fixed pattern to mount path argv[2], in argv[4] separate appends. */
const WRITE = `import sys, os
p = os.path.join(sys.argv[1], sys.argv[2]); n = int(sys.argv[3]); k = int(sys.argv[4])
data = bytes((i * 7 + i // 4096) % 251 for i in range(n))
os.makedirs(os.path.dirname(p), exist_ok=True)
step = (n + k - 1) // k
open(p, 'wb').close()
for i in range(0, n, step):
    with open(p, 'ab') as f: f.write(data[i:i + step])
print(len(data))`;
const MD5 = `import sys, os, hashlib
print(hashlib.md5(open(os.path.join(sys.argv[1], sys.argv[2]), 'rb').read()).hexdigest())`;

async function md5(mp: string, rel: string): Promise<string> {
  return ok(await py(MD5, [mp, rel]), `md5 ${rel}`).trim();
}

/** The slice records of a file (tjfs info is another helper's; read them over the meta URL). */
async function sliceCount(metaUrl: string, rel: string): Promise<number> {
  const script = `
import { openMeta } from './dist/src/meta/base-meta.js';
const meta = await openMeta(process.argv[1], { readOnly: true });
const ctx = { uid: 0, gid: 0, gids: [0], pid: 1 };
let ino = 1n;
for (const p of process.argv[2].split('/')) ino = (await meta.lookup(ctx, ino, Buffer.from(p))).ino;
console.log((await meta.readChunk(ino, 0)).length);
await meta.stop();`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script, metaUrl, rel], {
    cwd: join(import.meta.dirname, '../..'),
  });
  return Number(ok(r, 'slice count').trim());
}

const KINDS: VolumeKind[] = hasRedis ? ['sqlite-file', 'redis-file'] : ['sqlite-file'];

describe.skipIf(!canMount)('maintenance commands on a real mount', () => {
  const env = useE2eEnv('maint');

  for (const kind of KINDS) {
    it(`${kind}: clone shares data, compact merges slices, warmup evicts/checks/warms`, async () => {
      const vol = await env().createVolume(kind, { formatArgs: ['--trash-days', '0'] });
      const m = await env().mount(vol);
      const size = 3 * 1024 * 1024 + 123;
      ok(await py(WRITE, [m.mp, 'src/a.bin', String(size), '12']), 'write a');
      ok(await py(WRITE, [m.mp, 'src/sub/b.bin', String(5000), '1']), 'write b');
      ok(await run('ln', ['-s', 'a.bin', join(m.mp, 'src/link')]), 'symlink');
      const sum = await md5(m.mp, 'src/a.bin');
      const objects = blockCount(vol);

      // clone: a tree, metadata only
      const c = await tjfs(['clone', join(m.mp, 'src'), join(m.mp, 'copy')]);
      expect(c.stderr + c.stdout).toContain('5 entries');
      expect(c.code).toBe(0);
      expect(blockCount(vol)).toBe(objects);
      expect(await md5(m.mp, 'copy/a.bin')).toBe(sum);
      expect(ok(await run('readlink', [join(m.mp, 'copy/link')])).trim()).toBe('a.bin');
      // a single file with --preserve keeps the mode
      ok(await run('chmod', ['0640', join(m.mp, 'src/sub/b.bin')]));
      ok(
        await tjfs(['clone', '--preserve', join(m.mp, 'src/sub/b.bin'), join(m.mp, 'b2.bin')]),
        'clone file',
      );
      expect(ok(await run('stat', ['-c', '%a', join(m.mp, 'b2.bin')])).trim()).toBe('640');
      // bad arguments
      const exists = await tjfs(['clone', join(m.mp, 'src'), join(m.mp, 'copy')]);
      expect(exists.code).toBe(1);
      expect(exists.stderr).toContain('already exists');
      const under = await tjfs(['clone', join(m.mp, 'src'), join(m.mp, 'src/inner')]);
      expect(under.stderr).toContain('should not be under the SRC path');
      const outside = await tjfs(['clone', '/etc/hostname', join(m.mp, 'x')]);
      expect(outside.stderr).toContain('not inside a tjfs mount');
      const missing = await tjfs(['clone', join(m.mp, 'nope'), join(m.mp, 'y')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/lookup inode for .*nope/);

      // removing the source keeps the shared data for the copy (refcounts)
      ok(await run('rm', ['-rf', join(m.mp, 'src')]), 'rm src');
      await new Promise((r) => setTimeout(r, 1500));
      expect(await md5(m.mp, 'copy/a.bin')).toBe(sum);

      // compact: 12 appends -> 1 slice, same bytes
      expect(await sliceCount(vol.metaUrl, 'copy/a.bin')).toBeGreaterThan(1);
      const cp = await tjfs(['compact', join(m.mp, 'copy')]);
      expect(cp.code, cp.stderr).toBe(0);
      expect(cp.stdout).toMatch(/2 files, 1 chunks compacted/);
      expect(await sliceCount(vol.metaUrl, 'copy/a.bin')).toBe(1);
      expect(await md5(m.mp, 'copy/a.bin')).toBe(sum);
      expect((await tjfs(['compact', join(m.mp, 'copy'), '--threads', '0'])).stderr).toContain('--threads');

      // warmup: evict -> check 0 % -> warm -> check 100 %
      const dir = join(m.mp, 'copy');
      ok(await tjfs(['warmup', '--evict', dir]), 'evict');
      const c0 = ok(await tjfs(['warmup', '--check', dir]), 'check');
      expect(c0).toMatch(/check: 2 files checked, 0 B of [\d.]+ MiB \(0\.0%\) cached/);
      const w = ok(await tjfs(['warmup', dir, '--threads', '2']), 'warmup');
      expect(w).toMatch(/warmup: 2 files \(3\.\d MiB\)/);
      const c1 = ok(await tjfs(['warmup', '--check', dir]), 'check');
      expect(c1).toContain('(100.0%) cached');
      // --file LIST
      ok(await run('sh', ['-c', `echo ${join(dir, 'a.bin')} > ${join(env().base, 'list.txt')}`]));
      ok(await tjfs(['warmup', '--evict', '--file', join(env().base, 'list.txt')]), 'evict list');
      expect(ok(await tjfs(['warmup', '--check', dir]), 'check')).toMatch(
        /\((0\.[0-9]|[0-9]\.[0-9])%\) cached/,
      );
      expect(await md5(m.mp, 'copy/a.bin')).toBe(sum); // evicted blocks are read again
      // -b: returns at once; a detached process warms the cache meanwhile
      ok(await tjfs(['warmup', '--evict', dir]), 'evict');
      const bg = ok(await tjfs(['warmup', '-b', dir]), 'warmup -b');
      expect(bg).toMatch(/running in the background \(pid \d+, log \S+\)/);
      const bgLog = /log (\S+)\)/.exec(bg)?.[1] ?? '';
      let warmed = '';
      for (let i = 0; i < 100 && !warmed.includes('(100.0%) cached'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        warmed = ok(await tjfs(['warmup', '--check', dir]), 'check');
      }
      expect(warmed, readFileSync(bgLog, 'utf8').slice(-2000)).toContain('(100.0%) cached');
      const both = await tjfs(['warmup', '--check', '--evict', dir]);
      expect(both.stderr).toContain("--check and --evict can't be used together");
      expect((await tjfs(['warmup'])).stderr).toContain('no path');
      expect((await tjfs(['warmup', '/etc'])).stderr).toContain('not inside a tjfs mount');
    }, 300_000);

    it(`${kind}: destroy checks the UUID and sessions, then removes objects and metadata`, async () => {
      const vol = await env().createVolume(kind);
      const m = await env().mount(vol);
      ok(await py(WRITE, [m.mp, 'f.bin', String(100_000), '1']), 'write');
      const status = JSON.parse(ok(await tjfs(['status', vol.metaUrl]))) as { Setting: { UUID: string } };
      const uuid = status.Setting.UUID;
      const wrong = await tjfs(['destroy', vol.metaUrl, 'not-the-uuid', '--yes']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain(`UUID "not-the-uuid" != expected "${uuid}"`);
      const busy = await tjfs(['destroy', vol.metaUrl, uuid, '--yes']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('1 sessions are active');
      await env().unmount(m);
      expect(blockCount(vol)).toBeGreaterThan(0);
      const no = await run(
        process.execPath,
        [join(import.meta.dirname, '../../dist/src/cli/bin.js'), 'destroy', vol.metaUrl, uuid],
        {
          input: 'n\n',
        },
      );
      expect(no.code).toBe(1);
      expect(no.stderr).toContain('Aborted.');
      const d = await tjfs(['destroy', vol.metaUrl, uuid, '--yes']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toContain(' volume UUID: ' + uuid);
      expect(d.stdout).toContain('The volume has been destroyed!');
      expect(blockCount(vol)).toBe(0);
      const after = await tjfs(['status', vol.metaUrl]);
      expect(after.code).toBe(1);
    }, 120_000);
  }

  it('version prints tjfs version X', async () => {
    const v = ok(await tjfs(['version']));
    expect(v).toMatch(/^tjfs version \d+\.\d+\.\d+ \(JuiceFS format compatible/);
  });
});
