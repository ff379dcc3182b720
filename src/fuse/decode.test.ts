/**
 * Golden byte tests of the request decoder: requests are hand-built from the spec's offset
 * tables (hex strings), then decoded.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeRequest } from './decode.js';
import type { RequestArgs } from './decode.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

/** fuse_in_header: len, opcode, unique 0x10, nodeid, uid 1000, gid 100, pid 4242, extlen. */
function req(opcode: number, nodeid: number, body: Buffer, extlen = 0): Buffer {
  const h = hex(
    `00000000 ${opcode.toString(16).padStart(2, '0')}000000 1000000000000000 ${nodeid.toString(16).padStart(2, '0')}00000000000000 e8030000 64000000 92100000 ${extlen.toString(16).padStart(2, '0')}00 0000`,
  );
  const b = Buffer.concat([h, body, Buffer.alloc(extlen * 8)]);
  b.writeUInt32LE(b.length, 0);
  return b;
}

const args = (b: Buffer): RequestArgs => decodeRequest(b).args;

describe('request decoder (golden bytes)', () => {
  it('header fields', () => {
    const r = decodeRequest(req(1, 1, Buffer.from('name\0')));
    expect(r.header).toEqual({
      len: 45,
      opcode: 1,
      unique: 16n,
      nodeid: 1n,
      uid: 1000,
      gid: 100,
      pid: 4242,
      totalExtlen: 0,
    });
    expect(r.args).toEqual({ opcode: 1, name: Buffer.from('name') });
  });

  it('INIT: 64-byte and 16-byte (pre-7.36) forms', () => {
    const full = hex('07000000 2d000000 00000200 fbffff73 fd050000');
    expect(args(req(26, 0, Buffer.concat([full, Buffer.alloc(44)])))).toEqual({
      opcode: 26,
      init: { major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: 0x5fd },
    });
    expect(args(req(26, 0, hex('07000000 1f000000 00000200 fbffff03')))).toEqual({
      opcode: 26,
      init: { major: 7, minor: 31, maxReadahead: 131072, flags: 0x03fffffb, flags2: 0 },
    });
  });

  it('FORGET and BATCH_FORGET', () => {
    expect(args(req(2, 9, hex('0300000000000000')))).toEqual({ opcode: 2, nlookup: 3n });
    const b = hex('02000000 00000000 0500000000000000 0100000000000000 0600000000000000 0200000000000000');
    expect(args(req(42, 0, b))).toEqual({
      opcode: 42,
      forgets: [
        { nodeid: 5n, nlookup: 1n },
        { nodeid: 6n, nlookup: 2n },
      ],
    });
  });

  it('GETATTR with and without fh', () => {
    expect(args(req(3, 5, hex('01000000 00000000 0700000000000000')))).toEqual({ opcode: 3, fh: 7n });
    expect(args(req(3, 5, hex('00000000 00000000 0700000000000000')))).toEqual({ opcode: 3 });
  });

  it('SETATTR: only valid fields, times with nsec, *_NOW', () => {
    const b = Buffer.alloc(88);
    b.writeUInt32LE(0x1 | 0x8 | 0x10 | 0x20 | 0x100 | 0x40, 0); // MODE SIZE ATIME MTIME MTIME_NOW FH
    b.writeBigUInt64LE(3n, 8);
    b.writeBigUInt64LE(4096n, 16);
    b.writeBigInt64LE(1600000000n, 32);
    b.writeUInt32LE(123456789, 56);
    b.writeUInt32LE(0o100600, 68);
    b.writeUInt32LE(55, 76); // uid not valid → ignored
    expect(args(req(4, 5, b))).toEqual({
      opcode: 4,
      attr: {
        killSuidgid: false,
        fh: 3n,
        size: 4096,
        atime: { sec: 1600000000, nsec: 123456789 },
        mtime: 'now',
        mode: 0o100600,
      },
    });
  });

  it('name-based ops: SYMLINK, MKNOD, MKDIR, RENAME, RENAME2, LINK, CREATE', () => {
    expect(args(req(6, 1, Buffer.from('ln\0target\0')))).toEqual({
      opcode: 6,
      name: Buffer.from('ln'),
      target: Buffer.from('target'),
    });
    expect(
      args(req(8, 1, Buffer.concat([hex('a4110000 00000000 12000000 00000000'), Buffer.from('p\0')]))),
    ).toEqual({ opcode: 8, mode: 0o10644, rdev: 0, umask: 0o22, name: Buffer.from('p') });
    expect(args(req(9, 1, Buffer.concat([hex('ed010000 12000000'), Buffer.from('d\0')])))).toEqual({
      opcode: 9,
      mode: 0o755,
      umask: 0o22,
      name: Buffer.from('d'),
    });
    expect(args(req(12, 1, Buffer.concat([hex('0200000000000000'), Buffer.from('a\0b\0')])))).toEqual({
      opcode: 12,
      newdir: 2n,
      flags: 0,
      oldName: Buffer.from('a'),
      newName: Buffer.from('b'),
    });
    expect(
      args(req(45, 1, Buffer.concat([hex('0200000000000000 01000000 00000000'), Buffer.from('a\0b\0')]))),
    ).toEqual({ opcode: 45, newdir: 2n, flags: 1, oldName: Buffer.from('a'), newName: Buffer.from('b') });
    expect(args(req(13, 1, Buffer.concat([hex('0900000000000000'), Buffer.from('h\0')])))).toEqual({
      opcode: 13,
      oldnodeid: 9n,
      newName: Buffer.from('h'),
    });
    expect(
      args(req(35, 1, Buffer.concat([hex('41800000 a4810000 12000000 00000000'), Buffer.from('f\0')]))),
    ).toEqual({
      opcode: 35,
      flags: 0o100101,
      mode: 0o100644,
      umask: 0o22,
      openFlags: 0,
      name: Buffer.from('f'),
    });
  });

  it('READ / READDIR / WRITE (data aliases the buffer)', () => {
    const read = hex(
      '0700000000000000 0010000000000000 00000200 02000000 2a00000000000000 02800000 00000000',
    );
    expect(args(req(15, 5, read))).toEqual({
      opcode: 15,
      fh: 7n,
      offset: 4096,
      size: 131072,
      flags: 0o100002,
      lockOwner: 42n,
    });
    const b = req(
      16,
      5,
      Buffer.concat([
        hex('0700000000000000 0000000000100000 05000000 05000000 0000000000000000 01800000 00000000'),
        Buffer.from('hello'),
      ]),
    );
    const w = args(b);
    expect(w).toEqual({
      opcode: 16,
      fh: 7n,
      offset: 2 ** 44,
      flags: 0o100001,
      cached: true,
      killSuidgid: true,
      data: Buffer.from('hello'),
    });
    if (w.opcode === 16) expect(w.data.buffer).toBe(b.buffer);
  });

  it('RELEASE / FLUSH / FSYNC', () => {
    expect(args(req(18, 5, hex('0700000000000000 02800000 03000000 0900000000000000')))).toEqual({
      opcode: 18,
      fh: 7n,
      flags: 0o100002,
      flush: true,
      flockUnlock: true,
      lockOwner: 9n,
    });
    expect(args(req(25, 5, hex('0700000000000000 00000000 00000000 0900000000000000')))).toEqual({
      opcode: 25,
      fh: 7n,
      lockOwner: 9n,
    });
    expect(args(req(20, 5, hex('0700000000000000 01000000 00000000')))).toEqual({
      opcode: 20,
      fh: 7n,
      datasync: true,
    });
  });

  it('xattrs', () => {
    expect(args(req(21, 5, Buffer.concat([hex('03000000 01000000'), Buffer.from('user.a\0xyz')])))).toEqual({
      opcode: 21,
      name: Buffer.from('user.a'),
      value: Buffer.from('xyz'),
      flags: 1,
    });
    expect(args(req(22, 5, Buffer.concat([hex('00000000 00000000'), Buffer.from('user.a\0')])))).toEqual({
      opcode: 22,
      size: 0,
      name: Buffer.from('user.a'),
    });
    expect(args(req(23, 5, hex('00100000 00000000')))).toEqual({ opcode: 23, size: 4096 });
    expect(args(req(24, 5, Buffer.from('user.a\0')))).toEqual({ opcode: 24, name: Buffer.from('user.a') });
  });

  it('locks: POSIX range and FLOCK flag', () => {
    const lk = hex(
      '0700000000000000 efcdab8967452301 0000000000000000 ffffffffffffff7f 01000000 92100000 01000000 00000000',
    );
    expect(args(req(33, 5, lk))).toEqual({
      opcode: 33,
      lk: {
        fh: 7n,
        owner: 0x0123456789abcdefn,
        start: 0n,
        end: 0x7fffffffffffffffn,
        type: 1,
        pid: 4242,
        flock: true,
      },
    });
  });

  it('INTERRUPT, ACCESS, FALLOCATE, LSEEK, COPY_FILE_RANGE', () => {
    expect(args(req(36, 0, hex('1000000000000000')))).toEqual({ opcode: 36, target: 16n });
    expect(args(req(34, 5, hex('04000000 00000000')))).toEqual({ opcode: 34, mask: 4 });
    expect(
      args(req(43, 5, hex('0700000000000000 0000000000000000 0020000000000000 01000000 00000000'))),
    ).toEqual({ opcode: 43, fh: 7n, offset: 0, length: 8192, mode: 1 });
    expect(args(req(46, 5, hex('0700000000000000 0a00000000000000 03000000 00000000')))).toEqual({
      opcode: 46,
      fh: 7n,
      offset: 10,
      whence: 3,
    });
    const cfr = hex(
      '0100000000000000 0200000000000000 0900000000000000 0300000000000000 0400000000000000 0500000000000000 0000000000000000',
    );
    expect(args(req(47, 5, cfr))).toEqual({
      opcode: 47,
      fhIn: 1n,
      offIn: 2,
      nodeidOut: 9n,
      fhOut: 3n,
      offOut: 4,
      len: 5,
      flags: 0,
    });
  });

  it('unknown opcodes decode as unsupported; extensions are ignored', () => {
    expect(args(req(39, 5, Buffer.alloc(32)))).toEqual({ opcode: 0, unsupported: 39 });
    expect(args(req(1, 1, Buffer.from('n\0'), 2))).toEqual({ opcode: 1, name: Buffer.from('n') });
  });

  it('malformed requests throw DecodeError', () => {
    expect(() => decodeRequest(Buffer.alloc(20))).toThrow(DecodeError);
    expect(() => decodeRequest(req(1, 1, Buffer.from('noterm')))).toThrow(DecodeError);
    expect(() => decodeRequest(req(15, 5, Buffer.alloc(8)))).toThrow(DecodeError);
    const lying = req(1, 1, Buffer.from('n\0'));
    lying.writeUInt32LE(4096, 0);
    expect(() => decodeRequest(lying)).toThrow(DecodeError);
  });
});
