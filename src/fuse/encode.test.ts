/**
 * Golden byte tests of the reply encoders: each expected buffer is written out by hand from
 * the kernel's struct layouts (include/uapi/linux/fuse.h; docs/FUSE.md §2: offsets, sizes, little-endian), not derived
 * from the encoder.
 */
import { describe, expect, it } from 'vitest';
import {
  DirentPacker,
  attrOut,
  createOut,
  entryOut,
  initOut,
  lkOut,
  notifyDelete,
  notifyInvalEntry,
  notifyInvalInode,
  openOut,
  outHeader,
  statfsOut,
  u32Out,
  u64Out,
} from './encode.js';
import { FileType, emptyAttr } from '../base/types.js';
import type { Attr } from '../base/types.js';

const hex = (s: string): string => s.replace(/[\s|]/g, '');
const u64 = (n: number): string => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString('hex');

const attr: Attr = {
  ...emptyAttr(),
  type: FileType.File,
  mode: 0o644,
  uid: 1000,
  gid: 100,
  length: 1000,
  atime: 1,
  atimensec: 2,
  mtime: 3,
  mtimensec: 4,
  ctime: 5,
  ctimensec: 6,
  nlink: 1,
};

// fuse_attr for ino 5: ino|size 1000|blocks 2|atime 1|mtime 3|ctime 5|ns 2,4,6|mode 0100644|nlink 1|uid 1000|gid 100|rdev 0|blksize 4096|flags 0
const ATTR_HEX = hex(`
  0500000000000000 e803000000000000 0200000000000000
  0100000000000000 0300000000000000 0500000000000000
  02000000 04000000 06000000 a4810000 01000000 e8030000 64000000 00000000 00100000 00000000`);

describe('reply encoders (golden bytes)', () => {
  it('out header: len, error, unique', () => {
    expect(outHeader(8, -2, 0x1234n).toString('hex')).toBe(hex('18000000 feffffff 3412000000000000'));
  });

  it('entry_out is 128 bytes with split timeouts', () => {
    const b = entryOut({ ino: 5n, generation: 7, entryTimeout: 1.5, attrTimeout: 2, attr });
    expect(b.length).toBe(128);
    expect(b.toString('hex')).toBe(
      hex(`0500000000000000 0700000000000000 0100000000000000 0200000000000000 0065cd1d 00000000`) + ATTR_HEX,
    );
  });

  it('attr_out is 104 bytes', () => {
    const b = attrOut(5n, { attr, attrTimeout: 0.25 });
    expect(b.toString('hex')).toBe(hex('0000000000000000 80b2e60e 00000000') + ATTR_HEX);
  });

  it('attr: blocks round up, directories get S_IFDIR, negative times are i64', () => {
    const b = attrOut(1n, {
      attr: { ...attr, type: FileType.Directory, mode: 0o1777, length: 513, atime: -1 },
      attrTimeout: 0,
    });
    expect(b.readBigUInt64LE(16 + 16)).toBe(2n);
    expect(b.readBigInt64LE(16 + 24)).toBe(-1n);
    expect(b.readUInt32LE(16 + 60)).toBe(0o41777);
  });

  it('open_out and create_out', () => {
    expect(openOut({ fh: 9n, directIo: true, keepCache: true }).toString('hex')).toBe(
      hex('0900000000000000 03000000 00000000'),
    );
    expect(openOut({ fh: 1, cacheDir: true, nonSeekable: true }).toString('hex')).toBe(
      hex('0100000000000000 0c000000 00000000'),
    );
    const c = createOut({ ino: 5n, generation: 7, entryTimeout: 1.5, attrTimeout: 2, attr }, { fh: 2 });
    expect(c.length).toBe(144);
    expect(c.subarray(128).toString('hex')).toBe(hex('0200000000000000 00000000 00000000'));
  });

  it('write_out / getxattr_out / lseek_out are 8 bytes', () => {
    expect(u32Out(4096).toString('hex')).toBe('0010000000000000');
    expect(u64Out(2n ** 40n).toString('hex')).toBe('0000000000010000');
  });

  it('statfs_out is 80 bytes', () => {
    const b = statfsOut({
      blocks: 100,
      bfree: 50,
      bavail: 40,
      files: 10,
      ffree: 5,
      bsize: 4096,
      namelen: 255,
    });
    expect(b.toString('hex')).toBe(
      u64(100) +
        u64(50) +
        u64(40) +
        u64(10) +
        u64(5) +
        hex('00100000 ff000000 00100000 00000000') +
        '00'.repeat(24),
    );
  });

  it('lk_out is a 24-byte fuse_file_lock', () => {
    expect(lkOut({ type: 1, start: 10n, end: 0x7fffffffffffffffn, pid: 77 }).toString('hex')).toBe(
      hex('0a00000000000000 ffffffffffffff7f 01000000 4d000000'),
    );
  });

  it('init_out is 64 bytes', () => {
    const b = initOut({
      major: 7,
      minor: 45,
      maxReadahead: 131072,
      flags: 0x40400029,
      flags2: 0,
      maxBackground: 64,
      congestionThreshold: 48,
      maxWrite: 1 << 20,
      timeGran: 1,
      maxPages: 256,
    });
    expect(b.toString('hex')).toBe(
      hex('07000000 2d000000 00000200 29004040 4000 3000 00001000 01000000 0001 0000 00000000') +
        '00'.repeat(28),
    );
  });

  it('dirent records are 8-byte aligned and never exceed the size', () => {
    const p = new DirentPacker(64);
    expect(p.add({ ino: 3n, name: Buffer.from('abc'), mode: 0o100644, next: 1 })).toBe(true);
    expect(p.length).toBe(32); // align8(24 + 3)
    // align8(24 + 10) = 40 does not fit into the 32 bytes left: refused, nothing written.
    expect(p.add({ ino: 4n, name: Buffer.from('0123456789'), mode: 0o040755, next: 2 })).toBe(false);
    expect(p.length).toBe(32);
    expect(p.add({ ino: 4n, name: Buffer.from('01234567'), mode: 0o040755, next: 2 })).toBe(true); // exactly 32
    expect(p.length).toBe(64);
    const out = p.finish();
    expect(out.subarray(0, 32).toString('hex')).toBe(
      hex('0300000000000000 0100000000000000 03000000 08000000 616263 0000000000'),
    );
  });

  it('direntplus records: entry_out then dirent, name at 152', () => {
    const p = new DirentPacker(4096);
    const e = { ino: 5n, generation: 7, entryTimeout: 1.5, attrTimeout: 2, attr };
    expect(p.addPlus({ ino: 5n, name: Buffer.from('f'), mode: 0o100644, next: 3 }, e)).toBe(true);
    expect(p.addPlus({ ino: 6n, name: Buffer.from('g'), mode: 0o100644, next: 4 }, undefined)).toBe(true);
    const b = p.finish();
    expect(b.length).toBe(160 * 2);
    expect(b.subarray(0, 128).equals(entryOut(e))).toBe(true);
    expect(b.subarray(128, 160).toString('hex')).toBe(
      hex('0500000000000000 0300000000000000 01000000 08000000 66 00000000000000'),
    );
    expect(b.subarray(160, 288).equals(Buffer.alloc(128))).toBe(true); // nodeid 0: no attributes
  });

  it('notifications: unique 0, error = code, NUL-terminated names', () => {
    expect(notifyInvalInode(9n, -1, 0).toString('hex')).toBe(
      hex('28000000 02000000 0000000000000000 0900000000000000 ffffffffffffffff 0000000000000000'),
    );
    expect(notifyInvalEntry(1n, Buffer.from('ab'), true).toString('hex')).toBe(
      hex('23000000 03000000 0000000000000000 0100000000000000 02000000 01000000 616200'),
    );
    expect(notifyDelete(1n, 9n, Buffer.from('x')).toString('hex')).toBe(
      hex('2a000000 06000000 0000000000000000 0100000000000000 0900000000000000 01000000 00000000 7800'),
    );
  });
});

describe('64-bit fields without BigInt', () => {
  it('lengths past 2^32, times before 1970 and past 2038 encode as the BigInt reference does', () => {
    const cases: Array<[number, number, number]> = [
      [5 * 2 ** 30 + 7, -1, 2 ** 33 + 5],
      [2 ** 53 - 1, -(2 ** 31) - 3, 0],
      [0, -1700000000, 4102444800],
    ];
    for (const [length, atime, mtime] of cases) {
      const a: Attr = {
        ...emptyAttr(),
        type: FileType.File,
        mode: 0o644,
        nlink: 1,
        length,
        atime,
        mtime,
        ctime: mtime,
      };
      const b = attrOut(7n, { attr: a, attrTimeout: 1.5 });
      expect(b.readBigUInt64LE(16 + 8)).toBe(BigInt(length));
      expect(b.readBigUInt64LE(16 + 16)).toBe(BigInt(Math.ceil(length / 512)));
      expect(b.readBigInt64LE(16 + 24)).toBe(BigInt(atime));
      expect(b.readBigInt64LE(16 + 32)).toBe(BigInt(mtime));
      expect(b.readBigUInt64LE(0)).toBe(1n);
      expect(b.readUInt32LE(8)).toBe(500_000_000);
    }
  });
});
