/** INIT with POSIX ACLs: POSIX_ACL and DONT_MASK only for a file system that stores ACLs. */
import { describe, expect, it } from 'vitest';
import { InitFlag } from './abi.js';
import { negotiateInit } from './init.js';

const kin = { major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: 0 };
const xattrs = { getxattr: async () => Buffer.alloc(0), setxattr: async () => undefined };
const both = InitFlag.POSIX_ACL | InitFlag.DONT_MASK;

describe('INIT negotiation of POSIX ACLs', () => {
  it('asks for POSIX_ACL and DONT_MASK when ops store ACLs', () => {
    const r = negotiateInit(kin, { ...xattrs, posixAcl: true });
    if (!r.ok) throw new Error(r.error);
    expect(r.reply.flags & both).toBe(both);
    expect(r.caps.posixAcl).toBe(true);
  });
  it('leaves both out on plain volumes, without xattr methods, or when the kernel does not offer them', () => {
    for (const [ops, flags] of [
      [{ ...xattrs, posixAcl: false }, kin.flags],
      [{ ...xattrs }, kin.flags],
      [{ posixAcl: true }, kin.flags],
      [{ ...xattrs, posixAcl: true }, kin.flags & ~both],
    ] as const) {
      const r = negotiateInit({ ...kin, flags }, ops);
      if (!r.ok) throw new Error(r.error);
      expect(r.reply.flags & both).toBe(0);
      expect(r.caps.posixAcl).toBe(false);
    }
  });
  it('an explicit option overrides the ops', () => {
    const r = negotiateInit(kin, { ...xattrs, posixAcl: true }, { posixAcl: false });
    if (!r.ok) throw new Error(r.error);
    expect(r.reply.flags & both).toBe(0);
  });
});
