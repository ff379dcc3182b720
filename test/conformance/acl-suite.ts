/**
 * POSIX ACL conformance (src/meta/acl.ts) on an `--enable-acl` volume: set/get of access and
 * default rules, shared rule ids, inheritance on create/mkdir/symlink, chmod rewriting the
 * mask, the POSIX.1e check order, the kernel xattr form and ENOTSUP on plain volumes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BaseMeta } from '../../src/meta/base-meta.js';
import { ACL_ACCESS, ACL_DEFAULT, decodeAclXattr, emptyRule, encodeAclXattr } from '../../src/meta/acl.js';
import type { AclRule } from '../../src/meta/encoding.js';
import { ROOT_INODE } from '../../src/base/types.js';
import { alice, bob, makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { expectErrno } from './meta-suite.js';

const carol = { uid: 1002, gid: 1002, gids: [1002], pid: 4 };

function rule(
  owner: number,
  group: number,
  mask: number,
  other: number,
  users: [number, number][] = [],
): AclRule {
  return { owner, group, mask, other, users: users.map(([id, perm]) => ({ id, perm })), groups: [] };
}

export function runAclConformance(target: EngineTarget): void {
  describe(`POSIX ACLs: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });
    async function open(acl = true): Promise<void> {
      v = await makeVolume(target, { EnableACL: acl });
      m = await v.client();
    }

    it('sets and gets access ACLs, shares rule ids and follows the POSIX.1e check order', async () => {
      await open();
      const d = await m.mkdir(root, ROOT_INODE, n('d'), 0o777);
      const f = await m.create(alice, d.ino, n('f'), 0o600);
      await m.close(f.ino);
      await expectErrno(m.open(bob, f.ino, 0), 'EACCES');
      const a = await m.setFacl(alice, f.ino, ACL_ACCESS, rule(6, 0, 6, 0, [[bob.uid, 4]]));
      expect(a.mode & 0o777).toBe(0o660);
      expect(a.accessAcl).toBeGreaterThan(0);
      expect(await m.getFacl(alice, f.ino, ACL_ACCESS)).toEqual(rule(6, 0, 6, 0, [[bob.uid, 4]]));
      await m.open(bob, f.ino, 0); // named user r--
      await expectErrno(m.open(bob, f.ino, 1), 'EACCES'); // no w for bob
      await expectErrno(m.open(carol, f.ino, 0), 'EACCES'); // other ---
      await expectErrno(m.setFacl(bob, f.ino, ACL_ACCESS, rule(7, 7, 7, 7)), 'EPERM');
      // the same rule on another inode reuses the id
      const g = await m.create(alice, d.ino, n('g'), 0o600);
      const b = await m.setFacl(alice, g.ino, ACL_ACCESS, rule(6, 0, 6, 0, [[bob.uid, 4]]));
      expect(b.accessAcl).toBe(a.accessAcl);
      // chmod rewrites the mask: g-r removes bob's read
      const c = await m.setattr(alice, f.ino, { mode: 0o600 });
      expect(c.mode & 0o777).toBe(0o600);
      expect((await m.getFacl(alice, f.ino, ACL_ACCESS)).mask).toBe(0);
      // mask 0: the ACL is skipped (Go and Linux), bob falls to other bits
      await expectErrno(m.open(bob, f.ino, 0), 'EACCES');
      // a minimal rule sets the mode and drops the ACL
      const e = await m.setFacl(alice, f.ino, ACL_ACCESS, rule(6, 4, 0xffff, 4));
      expect(e.mode & 0o777).toBe(0o644);
      expect(e.accessAcl).toBe(0);
      await expectErrno(m.getFacl(alice, f.ino, ACL_ACCESS), 'ENODATA');
    });

    it('inherits default ACLs on create, mkdir and mknod; symlinks do not; the umask is ignored', async () => {
      await open();
      const d = await m.mkdir(alice, ROOT_INODE, n('d'), 0o750);
      await expectErrno(
        m.setFacl(alice, (await m.create(alice, d.ino, n('x'), 0o644)).ino, ACL_DEFAULT, rule(7, 5, 7, 0)),
        'EACCES',
      );
      await m.setFacl(alice, d.ino, ACL_DEFAULT, rule(7, 5, 7, 0, [[bob.uid, 7]]));
      expect((await m.getFacl(alice, d.ino, ACL_DEFAULT)).users).toEqual([{ id: bob.uid, perm: 7 }]);
      const f = await m.create(alice, d.ino, n('f'), 0o666, 0o077);
      expect(f.attr.mode & 0o777).toBe(0o660); // owner 6&7, mask 6&7, other 6&0
      expect(await m.getFacl(alice, f.ino, ACL_ACCESS)).toEqual(rule(6, 5, 6, 0, [[bob.uid, 7]]));
      const sub = await m.mkdir(alice, d.ino, n('sub'), 0o777, 0o077);
      expect(sub.attr.mode & 0o777).toBe(0o770);
      expect(sub.attr.defaultAcl).toBeGreaterThan(0);
      const s = await m.symlink(alice, d.ino, n('l'), n('f'));
      expect(s.attr.accessAcl).toBe(0);
      // minimal default: masks the mode only
      const e = await m.mkdir(alice, ROOT_INODE, n('e'), 0o777);
      await m.setFacl(alice, e.ino, ACL_DEFAULT, rule(7, 0, 0xffff, 0));
      const ef = await m.create(alice, e.ino, n('f'), 0o666, 0o022);
      expect(ef.attr.mode & 0o777).toBe(0o600);
      expect(ef.attr.accessAcl).toBe(0);
      // removing the default ACL: umask applies again
      await m.setFacl(alice, e.ino, ACL_DEFAULT, emptyRule());
      expect((await m.create(alice, e.ino, n('g'), 0o666, 0o022)).attr.mode & 0o777).toBe(0o644);
    });

    it('exposes ACLs as system.posix_acl_* xattrs in the kernel format', async () => {
      await open();
      const f = await m.create(alice, ROOT_INODE, n('f'), 0o640);
      await m.close(f.ino);
      const r = rule(6, 4, 6, 0, [[bob.uid, 6]]);
      const x = encodeAclXattr(r);
      expect(x.length).toBe(4 + 5 * 8);
      expect(decodeAclXattr(x)).toEqual(r);
      await m.setxattr(alice, f.ino, 'system.posix_acl_access', x);
      expect((await m.listxattr(alice, f.ino)).sort()).toEqual(['system.posix_acl_access']);
      expect(await m.getxattr(alice, f.ino, 'system.posix_acl_access')).toEqual(x);
      await m.open(bob, f.ino, 2);
      await m.removexattr(alice, f.ino, 'system.posix_acl_access');
      await expectErrno(m.getxattr(alice, f.ino, 'system.posix_acl_access'), 'ENODATA');
      await expectErrno(m.setxattr(alice, f.ino, 'system.posix_acl_access', Buffer.alloc(5)), 'EINVAL');
    });

    it('consults the directory ACL in unlink, rmdir, rename, link and clone (and the file ACL in truncate/xattrs)', async () => {
      await open();
      // alice's 0755 directory; bob gets rwx through a named-user entry only
      const d = await m.mkdir(alice, ROOT_INODE, n('d'), 0o755);
      const e = await m.mkdir(alice, ROOT_INODE, n('e'), 0o755);
      const f = await m.create(alice, d.ino, n('f'), 0o644);
      await m.close(f.ino);
      await m.mkdir(alice, d.ino, n('sub'), 0o755);
      const mk = async (name: string): Promise<void> => {
        const x = await m.create(alice, d.ino, n(name), 0o644);
        await m.close(x.ino);
      };
      await mk('g');
      await mk('h');
      await mk('k');
      // without the ACL bob is "other" (r-x): every change to d is refused
      await expectErrno(m.unlink(bob, d.ino, n('f')), 'EACCES');
      await expectErrno(m.rmdir(bob, d.ino, n('sub')), 'EACCES');
      await expectErrno(m.rename(bob, d.ino, n('g'), d.ino, n('g2')), 'EACCES');
      await expectErrno(m.link(bob, f.ino, d.ino, n('f2')), 'EACCES');
      await expectErrno(m.clone(bob, f.ino, d.ino, n('f3')), 'EACCES');
      await m.setFacl(alice, d.ino, ACL_ACCESS, rule(7, 5, 7, 5, [[bob.uid, 7]]));
      await m.unlink(bob, d.ino, n('f'));
      await m.rmdir(bob, d.ino, n('sub'));
      await m.rename(bob, d.ino, n('g'), d.ino, n('g2'));
      const h = (await m.lookup(bob, d.ino, n('h'))).ino;
      await m.link(bob, h, d.ino, n('h2'));
      await m.clone(bob, h, d.ino, n('h3'));
      // e has no entry for bob: moving out of d into e is refused by e's mode bits
      await expectErrno(m.rename(bob, d.ino, n('k'), e.ino, n('k')), 'EACCES');
      await m.setFacl(alice, e.ino, ACL_ACCESS, rule(7, 5, 7, 5, [[bob.uid, 3]]));
      await m.rename(bob, d.ino, n('k'), e.ino, n('k'));
      // the mask limits the named entry: chmod g-w turns bob's rwx into r-x
      await m.setattr(alice, d.ino, { mode: 0o755 });
      await expectErrno(m.unlink(bob, d.ino, n('h2')), 'EACCES');
      await expectErrno(m.rename(bob, d.ino, n('h3'), d.ino, n('h4')), 'EACCES');
      // a named group entry works the same way (bob's supplementary group 2000)
      const gx = await m.mkdir(alice, ROOT_INODE, n('gx'), 0o755);
      const gf = await m.create(alice, gx.ino, n('f'), 0o644);
      await m.close(gf.ino);
      await expectErrno(m.unlink(bob, gx.ino, n('f')), 'EACCES');
      await m.setFacl(alice, gx.ino, ACL_ACCESS, { ...rule(7, 5, 7, 5), groups: [{ id: 2000, perm: 7 }] });
      await m.unlink(bob, gx.ino, n('f'));
      // a file's ACL: truncate by path and user.* xattrs
      const t = await m.create(alice, ROOT_INODE, n('t'), 0o644);
      await m.close(t.ino);
      await expectErrno(m.truncate(bob, t.ino, 0), 'EACCES');
      await expectErrno(m.setxattr(bob, t.ino, 'user.k', Buffer.from('v')), 'EACCES');
      await m.setFacl(alice, t.ino, ACL_ACCESS, rule(6, 4, 6, 4, [[bob.uid, 6]]));
      await m.truncate(bob, t.ino, 0);
      await m.setxattr(bob, t.ino, 'user.k', Buffer.from('v'));
      // carol (no entry) still gets the other bits only
      await expectErrno(m.truncate(carol, t.ino, 0), 'EACCES');
      // touch (times to now) by a non-owner: write access through the ACL
      await m.setattr(bob, t.ino, { atime: 'now', mtime: 'now' });
      await expectErrno(m.setattr(carol, t.ino, { atime: 'now', mtime: 'now' }), 'EACCES');
      await m.setFacl(alice, t.ino, ACL_ACCESS, rule(6, 4, 6, 4, [[bob.uid, 4]]));
      await expectErrno(m.setattr(bob, t.ino, { mtime: 'now' }), 'EACCES');
    });

    it('refuses ACLs on a volume without --enable-acl', async () => {
      await open(false);
      const f = await m.create(alice, ROOT_INODE, n('f'), 0o640);
      await expectErrno(m.setFacl(alice, f.ino, ACL_ACCESS, rule(6, 4, 6, 0)), 'ENOTSUP');
      await expectErrno(m.getxattr(alice, f.ino, 'system.posix_acl_access'), 'ENOTSUP');
    });
  });
}
