/**
 * FdDevice over a pipe: a reply is the 16-byte out header (length, −errno, unique) followed
 * by the payload, in one write; errors come back as −errno; nothing is written once closed.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FdDevice } from './device.js';
import { loadNative } from '../native/addon.js';

let dir: string;
let fifo: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tjfs-device-'));
  fifo = join(dir, 'p');
  execFileSync('mkfifo', [fifo]);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function pipe(): { r: number; w: number } {
  const r = openSync(fifo, 'r+'); // O_RDWR on a FIFO never blocks the open
  const w = openSync(fifo, 'w');
  return { r, w };
}

describe('FdDevice.reply', () => {
  it('writes header and payload as one message', () => {
    const { r, w } = pipe();
    const dev = new FdDevice(w, loadNative());
    try {
      const unique = 0xfedcba9876543210n;
      expect(dev.reply(unique, 0, [Buffer.from('abc'), Buffer.from('defg')])).toBe(0);
      expect(dev.reply(7n, -2, [])).toBe(0);
      const got = Buffer.alloc(64);
      const n = readSync(r, got);
      expect(n).toBe(16 + 7 + 16);
      expect(got.readUInt32LE(0)).toBe(23);
      expect(got.readInt32LE(4)).toBe(0);
      expect(got.readBigUInt64LE(8)).toBe(unique);
      expect(got.subarray(16, 23).toString()).toBe('abcdefg');
      expect(got.readUInt32LE(23)).toBe(16);
      expect(got.readInt32LE(27)).toBe(-2);
      expect(got.readBigUInt64LE(31)).toBe(7n);
    } finally {
      dev.close();
      closeSync(r);
    }
  });

  it('joins more payload buffers than one writev call takes', () => {
    const { r, w } = pipe();
    const dev = new FdDevice(w, loadNative());
    try {
      const parts = Array.from({ length: 100 }, (_, i) => Buffer.from([i]));
      expect(dev.reply(1n, 0, parts)).toBe(0);
      const got = Buffer.alloc(256);
      expect(readSync(r, got)).toBe(116);
      expect([...got.subarray(16, 116)]).toEqual(parts.map((_, i) => i));
    } finally {
      dev.close();
      closeSync(r);
    }
  });

  it('returns −errno instead of throwing, and −EBADF once closed', () => {
    const { r, w } = pipe();
    closeSync(r);
    const dev = new FdDevice(w, loadNative());
    const prev = process.listeners('SIGPIPE');
    process.on('SIGPIPE', () => undefined);
    try {
      expect(dev.reply(1n, 0, [Buffer.from('x')])).toBe(-32); // EPIPE: no reader
    } finally {
      for (const l of process.listeners('SIGPIPE')) if (!prev.includes(l)) process.off('SIGPIPE', l);
      dev.close();
    }
    expect(dev.reply(1n, 0, [])).toBe(-9);
  });

  it('refuses non-Buffer payloads with a TypeError', () => {
    expect(() => loadNative().writeReply(1, 1n, 0, ['x' as unknown as Buffer])).toThrow(TypeError);
  });
});

describe('keepHeap', () => {
  it('tunes glibc malloc and refuses nonsense sizes', () => {
    const native = loadNative();
    expect(native.keepHeap(32 * 1024 * 1024)).toBe(true);
    expect(() => native.keepHeap(0)).toThrow(TypeError);
    expect(() => native.keepHeap('x' as unknown as number)).toThrow(TypeError);
  });
});
