/**
 * POSIX ACLs through a real mount of a `format --enable-acl` volume, on SQLite and on Redis,
 * driven with Debian's setfacl/getfacl as root and checked by accesses as other users
 * (setpriv): named-user and named-group entries, the mask (and chmod rewriting it), default
 * ACL inheritance on mkdir/create with the umask ignored (INIT's DONT_MASK), removal, unlink
 * and rename allowed by a directory's ACL; the same ACLs seen by a fresh API client; then a
 * dump → load → dump of the volume is byte-identical.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, useE2eEnv, type VolumeKind } from '../helpers/mount.js';
import { ok, run, type ChildResult } from '../helpers/proc.js';

const SETPRIV = '/usr/bin/setpriv';
const SETFACL = '/usr/bin/setfacl';
const GETFACL = '/usr/bin/getfacl';
const canRun =
  fuseAvailable() &&
  process.getuid?.() === 0 &&
  existsSync(SETPRIV) &&
  existsSync(SETFACL) &&
  existsSync(GETFACL);
if (!canRun) console.warn('acl e2e: skipped (needs root, FUSE, the tjfs addon, setpriv and the acl package)');

const U1 = 1001; // gets named entries
const U2 = 1002; // never named; a member of group 2000 only where said
const G = 2000;

/** `sh -c cmd` in `cwd`, as root or as `uid` (no supplementary groups unless `groups`). */
function sh(cwd: string, cmd: string, uid?: number, groups: number[] = []): Promise<ChildResult> {
  const wrapped = `cd '${cwd}' && ${cmd}`;
  if (uid === undefined) return run('/bin/sh', ['-c', wrapped], { timeoutMs: 30_000 });
  const g = groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
  return run(SETPRIV, [`--reuid=${uid}`, `--regid=${uid}`, ...g, '/bin/sh', '-c', wrapped], {
    timeoutMs: 30_000,
  });
}

/** Runs as root and returns stdout, failing the test with stderr otherwise. */
async function root(cwd: string, cmd: string): Promise<string> {
  return ok(await sh(cwd, cmd), cmd);
}

/** getfacl without the header, numeric ids, as a list of lines. */
async function facl(cwd: string, path: string, extra = ''): Promise<string[]> {
  const out = await root(cwd, `${GETFACL} -cn ${extra} '${path}'`);
  return out.split('\n').filter((l) => l.trim() !== '');
}

function denied(r: ChildResult): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/Permission denied/);
}

/** The whole scenario in directory `mp` (a mount, or a local ext4 directory as reference). */
async function checkAcls(mp: string): Promise<void> {
  // --- named user on a directory: search and list -------------------------------------
  await root(mp, 'mkdir d && chmod 0750 d && echo hello > d/f && chmod 0600 d/f');
  denied(await sh(mp, 'ls d', U1));
  await root(mp, `${SETFACL} -m u:${U1}:rx d`);
  expect(await facl(mp, 'd')).toEqual([
    'user::rwx',
    `user:${U1}:r-x`,
    'group::r-x',
    'mask::r-x',
    'other::---',
  ]);
  expect(await root(mp, 'ls -ld d')).toMatch(/^drwxr-x---\+ /);
  expect(ok(await sh(mp, 'ls d', U1), 'ls as U1').trim()).toBe('f');
  denied(await sh(mp, 'ls d', U2));

  // --- named user on a file: read/write; others still refused ------------------------
  denied(await sh(mp, 'cat d/f', U1));
  await root(mp, `${SETFACL} -m u:${U1}:rw d/f`);
  expect(ok(await sh(mp, 'cat d/f', U1), 'cat as U1')).toBe('hello\n');
  ok(await sh(mp, 'echo more >> d/f', U1), 'append as U1');
  expect(await root(mp, 'cat d/f')).toBe('hello\nmore\n');
  expect((await root(mp, 'stat -c %a d/f')).trim()).toBe('660'); // group class = mask rw-

  // --- chmod rewrites the mask: U1's rw- becomes effective r-- ---------------------
  await root(mp, 'chmod 0640 d/f');
  expect(await facl(mp, 'd/f')).toEqual([
    'user::rw-',
    `user:${U1}:rw-\t#effective:r--`,
    'group::---',
    'mask::r--',
    'other::---',
  ]);
  expect(ok(await sh(mp, 'cat d/f', U1), 'cat after chmod')).toBe('hello\nmore\n');
  denied(await sh(mp, 'echo x >> d/f', U1));

  // --- named group entry: U2 only with group 2000 ------------------------------------
  await root(mp, `${SETFACL} -m g:${G}:rx d && ${SETFACL} -m g:${G}:r,m::rw d/f`);
  denied(await sh(mp, 'cat d/f', U2));
  expect(ok(await sh(mp, 'cat d/f', U2, [G]), 'cat as U2 in G')).toBe('hello\nmore\n');
  denied(await sh(mp, 'echo x >> d/f', U2, [G]));

  // --- a directory's ACL grants unlink/rename/create to a named user -----------------
  await root(mp, 'mkdir w && chmod 0755 w && touch w/a w/b');
  denied(await sh(mp, 'rm -f w/a', U1));
  denied(await sh(mp, 'mv w/b w/b2', U1));
  await root(mp, `${SETFACL} -m u:${U1}:rwx w`);
  ok(await sh(mp, 'rm -f w/a && mv w/b w/b2 && touch w/c && ln w/c w/c2', U1), 'dir ops as U1');
  expect((await root(mp, 'ls w')).split('\n').filter(Boolean)).toEqual(['b2', 'c', 'c2']);
  denied(await sh(mp, 'rm -f w/c', U2));
  // the mask limits it too
  await root(mp, 'chmod g-w w');
  denied(await sh(mp, 'rm -f w/c', U1));

  // --- default ACL: inherited by mkdir/create, umask ignored -------------------------
  await root(mp, `mkdir p && chmod 0755 p && ${SETFACL} -m u:${U1}:rwx -d -m u:${U1}:rwx p`);
  expect(await facl(mp, 'p', '-d')).toEqual([
    'user::rwx',
    `user:${U1}:rwx`,
    'group::r-x',
    'mask::rwx',
    'other::r-x',
  ]);
  await root(mp, 'umask 077 && mkdir p/sub && touch p/file');
  // create mode 0666 & default (user rwx, mask rwx, other r-x): 0664, not 0600 from the umask
  expect((await root(mp, 'stat -c %a p/file')).trim()).toBe('664');
  expect((await root(mp, 'stat -c %a p/sub')).trim()).toBe('775');
  expect(await facl(mp, 'p/file')).toEqual([
    'user::rw-',
    `user:${U1}:rwx\t#effective:rw-`,
    'group::r-x\t#effective:r--',
    'mask::rw-',
    'other::r--',
  ]);
  expect(await facl(mp, 'p/sub', '-d')).toEqual(await facl(mp, 'p', '-d'));
  // U1 may create inside the inherited directory; the new file inherits again
  ok(await sh(mp, 'umask 022 && echo u1 > p/sub/mine', U1), 'create as U1 in p/sub');
  expect((await root(mp, 'stat -c %u:%a p/sub/mine')).trim()).toBe(`${U1}:664`);
  denied(await sh(mp, 'touch p/sub/no', U2));
  // symlinks never inherit
  await root(mp, 'ln -s file p/link');
  expect((await root(mp, 'stat -c %a p/link')).trim()).toBe('777');
  // without a default ACL the umask applies again
  await root(mp, `${SETFACL} -k p && umask 077 && touch p/plain`);
  expect((await root(mp, 'stat -c %a p/plain')).trim()).toBe('600');
  expect(await facl(mp, 'p/plain')).toEqual(['user::rw-', 'group::---', 'other::---']);

  // --- removal: setfacl -b leaves the mode only (the group class is the group entry again) --
  await root(mp, `${SETFACL} -b d/f`);
  expect(await facl(mp, 'd/f')).toEqual(['user::rw-', 'group::---', 'other::---']);
  expect(await root(mp, 'ls -l d/f')).toMatch(/^-rw------- /);
  denied(await sh(mp, 'cat d/f', U1));
}

describe.skipIf(!canRun)('POSIX ACLs through FUSE (setfacl/getfacl, other users)', () => {
  const e = useE2eEnv('acl');

  // The expectations are Linux's: the same scenario on a local directory (ext4 or tmpfs with
  // ACLs) must pass too, so the FUSE runs compare tjfs with the kernel's own ACL code.
  it('holds on a local file system with ACLs (reference run)', async () => {
    const dir = join(e().base, 'local');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    if ((await sh(dir, `touch t && ${SETFACL} -m u:${U1}:r t && rm t`)).code !== 0) {
      console.warn('acl e2e: the local file system has no ACLs; reference run skipped');
      return;
    }
    await checkAcls(dir);
  }, 60_000);

  // The kernel caches ACLs (POSIX_ACL); another client's change must reach it once the
  // attributes it caches expire (1 s here), both ways.
  it('an ACL changed on one mount is enforced on another after the attribute cache', async () => {
    const vol = await e().createVolume('redis-file', { formatArgs: ['--trash-days', '0', '--enable-acl'] });
    const a = await e().mount(vol);
    const b = await e().mount(vol);
    const until = async (want: number): Promise<number> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const r = await sh(b.mp, 'cat f', U1);
        if (r.code === want || Date.now() > deadline) return r.code ?? -1;
        await new Promise((res) => setTimeout(res, 250));
      }
    };
    try {
      await root(a.mp, 'echo hi > f && chmod 0600 f');
      denied(await sh(b.mp, 'cat f', U1)); // b's kernel now caches "no ACL"
      await root(a.mp, `${SETFACL} -m u:${U1}:r f`);
      expect(await until(0)).toBe(0);
      expect(await facl(b.mp, 'f')).toContain(`user:${U1}:r--`);
      await root(a.mp, `${SETFACL} -x u:${U1} f`);
      expect(await until(1)).toBe(1);
    } finally {
      await e().unmount(a);
      await e().unmount(b);
    }
  }, 90_000);

  for (const kind of ['sqlite-file', 'redis-file'] as VolumeKind[]) {
    it(`enforces and inherits ACLs and dumps them identically (${kind})`, async () => {
      const vol = await e().createVolume(kind, { formatArgs: ['--trash-days', '0', '--enable-acl'] });
      const m = await e().mount(vol);
      try {
        await checkAcls(m.mp);
      } finally {
        await e().unmount(m);
      }
      // dump → load into a fresh SQLite → dump: the same bytes, ACL rules included, except the
      // id counters, which a load recomputes from the tree as Go's does (a live mount had
      // reserved inode and chunk batches); a second round trip is then byte-identical.
      const one = join(vol.dir, 'one.json');
      const two = join(vol.dir, 'two.json');
      const three = join(vol.dir, 'three.json');
      ok(await tjfs(['dump', vol.metaUrl, one], 120_000), 'dump');
      const text = readFileSync(one, 'utf8');
      expect(text).toContain('"posix_acl_access"');
      expect(text).toContain('"posix_acl_default"');
      expect(text).toContain('"EnableACL": true');
      const copy = `sqlite3://${join(vol.dir, 'copy.db')}`;
      ok(await tjfs(['load', copy, one], 120_000), 'load');
      ok(await tjfs(['dump', copy, two], 120_000), 'dump of the copy');
      const idCounters = /^ {4}"next(Inodes|Chunk|Session)": \d+,$/;
      const strip = (t: string): string[] => t.split('\n').filter((l) => !idCounters.test(l));
      expect(strip(readFileSync(two, 'utf8'))).toEqual(strip(text));
      const again = `sqlite3://${join(vol.dir, 'again.db')}`;
      ok(await tjfs(['load', again, two], 120_000), 'load of the copy');
      ok(await tjfs(['dump', again, three], 120_000), 'dump of the second copy');
      expect(readFileSync(three).equals(readFileSync(two))).toBe(true);
      // and the copy mounts with the same ACLs enforced
      const m2 = await e().mount({ ...vol, metaUrl: copy });
      try {
        expect(await facl(m2.mp, 'p/sub', '-d')).toContain(`user:${U1}:rwx`);
        expect(ok(await sh(m2.mp, 'ls d', U1), 'ls on the copy').trim()).toBe('f');
        denied(await sh(m2.mp, 'ls d', U2));
      } finally {
        await e().unmount(m2);
      }
    }, 180_000);
  }
});
