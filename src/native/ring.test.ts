/**
 * The addon's io_uring reads (`ring`, and `ringRead` over it): the bytes of fs.readSync at
 * every position relation, errors as Node-style errors, more reads than slots (the rest fall
 * back), and the event loop kept alive only while a read is in flight (a child process reads
 * a FIFO that an unref'd timer fills). Skipped, saying why, where the kernel refuses io_uring.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optionalNative } from './addon.js';
import { packageRoot } from './package-root.js';
import { ringAvailable, ringRead, ringReadFile } from './ring.js';

const dir = mkdtempSync(join(tmpdir(), 'tjfs-ring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Why io_uring cannot be expected here, or undefined when it must work. */
function whyUnavailable(): string | undefined {
  if (optionalNative() === undefined) return 'the native addon is not built';
  if (process.env['TJFS_IO_URING'] === '0') return 'TJFS_IO_URING=0';
  const knob = '/proc/sys/kernel/io_uring_disabled';
  if (existsSync(knob) && readFileSync(knob, 'utf8').trim() !== '0') return `${knob} is set`;
  return undefined;
}
const skip = whyUnavailable();
if (skip !== undefined) console.warn(`ring.test: io_uring cases skipped: ${skip}`);

function pattern(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 151 + (i >> 12)) & 0xff;
  return b;
}

describe.skipIf(skip !== undefined)('ringRead (io_uring)', () => {
  const data = pattern(1 << 20);
  const path = join(dir, 'data');
  writeFileSync(path, data);

  it('is available on this kernel', () => {
    expect(ringAvailable()).toBe(true);
  });

  it('reads what pread reads: inside, across the end, past the end, at a huge offset', async () => {
    const fd = openSync(path, 'r');
    try {
      for (const [pos, len, want] of [
        [0, 4096, 4096],
        [12_345, 70_000, 70_000],
        [data.length - 1000, 4096, 1000],
        [data.length, 4096, 0],
        [2 ** 52, 4096, 0],
      ] as const) {
        const buf = Buffer.alloc(len, 0xee);
        const n = await ringRead(fd, buf, pos);
        expect(n).toBe(want);
        const ref = Buffer.alloc(len, 0xee);
        expect(readSync(fd, ref, 0, len, pos)).toBe(want);
        expect(buf.equals(ref)).toBe(true);
      }
    } finally {
      closeSync(fd);
    }
  });

  it('rejects with the errors read(2) gives', async () => {
    const fd = openSync(path, 'r');
    closeSync(fd);
    await expect(ringRead(fd, Buffer.alloc(16), 0)).rejects.toMatchObject({ code: 'EBADF', syscall: 'read' });
    const dfd = openSync(dir, 'r');
    try {
      await expect(ringRead(dfd, Buffer.alloc(16), 0)).rejects.toMatchObject({ code: 'EISDIR' });
    } finally {
      closeSync(dfd);
    }
  });

  it('readFile opens, reads and closes: ranges, the end, errors with path and syscall', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (const [pos, len, want] of [
      [0, data.length, data.length],
      [65_536, 4096, 4096],
      [data.length - 10, 4096, 10],
      [data.length + 5, 4096, 0],
    ] as const) {
      const buf = Buffer.alloc(len, 0xee);
      expect(await ringReadFile(path, buf, pos)).toBe(want);
      expect(buf.subarray(0, want).equals(data.subarray(pos, pos + want))).toBe(true);
    }
    const missing = join(dir, 'missing');
    await expect(ringReadFile(missing, Buffer.alloc(8), 0)).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'open',
      path: missing,
    });
    await expect(ringReadFile(dir, Buffer.alloc(8), 0)).rejects.toMatchObject({
      code: 'EISDIR',
      syscall: 'read',
      path: dir,
    });
    expect(fds()).toBe(before); // every opened file was closed, failed reads too
  });

  it('takes reads until every slot is busy, then hands the rest back; all complete intact', async () => {
    const fd = openSync(path, 'r');
    try {
      const reads: { pos: number; buf: Buffer; done: Promise<number> }[] = [];
      let handedBack = 0;
      for (let i = 0; i < 600; i++) {
        const pos = (i * 7919 * 4096) % (data.length - 4096);
        const buf = Buffer.alloc(4096);
        const done = ringRead(fd, buf, pos);
        if (done === undefined) handedBack++;
        else reads.push({ pos, buf, done });
      }
      expect(reads.length).toBe(256);
      expect(handedBack).toBe(344);
      for (const r of reads) {
        expect(await r.done).toBe(4096);
        expect(r.buf.equals(data.subarray(r.pos, r.pos + 4096))).toBe(true);
      }
      expect(ringRead(fd, Buffer.alloc(1), 0)).toBeDefined(); // slots came back
    } finally {
      closeSync(fd);
    }
  });

  it('keeps the process alive while a read is in flight, and only then', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const addon = join(packageRoot(), 'native', 'build', 'Release', 'tjfs_fuse.node');
    // Nothing but the ring keeps this child's loop alive: the timer that feeds the FIFO is unref'd.
    const child = `
      const fs = require('node:fs');
      const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR);
      const buf = Buffer.alloc(8);
      const ring = require(${JSON.stringify(addon)}).ring(4, (slot, n, err) => {
        console.log(err ? 'error ' + err.code : 'read ' + buf.subarray(0, n).toString());
      });
      if (ring.read(fd, buf, 0) < 0) throw new Error('not submitted');
      setTimeout(() => fs.writeSync(fd, 'late'), 300).unref();
    `;
    const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('read late');
    expect(r.status).toBe(0); // and it exited once the read was done (the ring no longer holds the loop)
  });

  it('lets worker threads end with reads in flight (the addon outlives the ring)', () => {
    const addon = join(packageRoot(), 'native', 'build', 'Release', 'tjfs_fuse.node');
    // Workers that exit at once, their reads still in flight, and workers that end normally:
    // the ring's close callback ran after the addon was unloaded (SIGSEGV) before its async
    // cleanup hook held the addon.
    const worker = `
      const fs = require('node:fs');
      const ring = require(${JSON.stringify(addon)}).ring(8, () => {});
      const fd = fs.openSync(${JSON.stringify(path)}, 'r');
      for (let i = 0; i < 8; i++) if (ring.read(fd, Buffer.alloc(65536), i * 65536) < 0) throw new Error('not submitted');
      if (require('node:worker_threads').workerData === 1) process.exit(0);
    `;
    const child = `
      const { Worker } = require('node:worker_threads');
      let left = 12;
      for (let k = 0; k < 12; k++)
        new Worker(${JSON.stringify(worker)}, { eval: true, workerData: k % 2 })
          .on('error', (e) => console.log('worker error', e.message))
          .on('exit', () => --left || console.log('all ended'));
    `;
    const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('all ended');
    expect(r.status).toBe(0);
  });
});

describe('ringRead switched off', () => {
  it('hands every read to the thread pool with TJFS_IO_URING=0', () => {
    const child = `import(${JSON.stringify(join(packageRoot(), 'dist', 'src', 'native', 'ring.js'))}).then((m) =>
      console.log(m.ringAvailable(), m.ringRead(0, Buffer.alloc(1), 0)))`;
    const r = spawnSync(process.execPath, ['-e', child], {
      encoding: 'utf8',
      env: { ...process.env, TJFS_IO_URING: '0' },
    });
    expect(r.stdout.trim()).toBe('false undefined');
  });
});
