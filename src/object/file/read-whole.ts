/**
 * Reads a whole file with one sized read (open, fstat, read, close) instead of
 * fs.readFile's 512 KiB steps: with the addon that is one thread-pool job (a small cached
 * block read after drop_caches went from ~1.2 ms to the disk's own time), without it 4
 * jobs, not 10. Errors are the raw Node-style errors (ENOENT, EISDIR, …).
 */
import { open } from 'node:fs/promises';
import { optionalNative } from '../../native/addon.js';
import { ringReadFile } from '../../native/ring.js';

const NONE = Buffer.alloc(0);
const native = optionalNative();

/**
 * Reads a file's first `head.length` bytes into `head` and the rest into a new buffer;
 * returns both, cut to what the file holds. With `checksumPiece` and the addon, also whether
 * the rest is the head's CRC32C trailer (checked off the JS thread); else that is undefined.
 */
export async function readFileSplit(
  path: string,
  head: Buffer,
  checksumPiece = 0,
): Promise<[Buffer, Buffer, boolean | undefined]> {
  if (native !== undefined) {
    const [n, tail, verified] = await native.readFileSplit(path, head, checksumPiece);
    return [head.subarray(0, n), tail, checksumPiece > 0 ? verified : undefined];
  }
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const tail = Buffer.allocUnsafe(Math.max(0, size - head.length));
    let done = 0;
    while (done < size) {
      const { bytesRead } =
        done < head.length
          ? await fh.readv([head.subarray(done), tail], done)
          : await fh.read(tail, done - head.length, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return [
      head.subarray(0, Math.min(done, head.length)),
      tail.subarray(0, Math.max(0, done - head.length)),
      undefined,
    ];
  } finally {
    await fh.close();
  }
}

/** The whole file; in `into` (a subarray of it) when it fits. */
export async function readWholeFile(path: string, into?: Buffer): Promise<Buffer> {
  const [head, tail] = await readFileSplit(path, into ?? NONE);
  if (tail.length === 0) return head;
  return head.length === 0 ? tail : Buffer.concat([head, tail]);
}

/**
 * Up to `len` bytes of the file from `off` (fewer at its end; none past it), in `into` when
 * it has room: on the io_uring (ring.ts) when there is one, else one thread-pool job with
 * the addon (open, pread, close), else four.
 */
export async function readFileRange(path: string, off: number, len: number, into?: Buffer): Promise<Buffer> {
  const buf = into !== undefined && len <= into.length ? into.subarray(0, len) : Buffer.allocUnsafe(len);
  if (len <= 0) return buf.subarray(0, 0);
  const viaRing = ringReadFile(path, buf, off);
  if (viaRing !== undefined) return buf.subarray(0, await viaRing);
  if (native !== undefined) {
    const [n] = await native.readFileRange(path, buf, off);
    return buf.subarray(0, n);
  }
  const fh = await open(path, 'r');
  try {
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(buf, done, len - done, off + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}
