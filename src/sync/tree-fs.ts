/**
 * TreeFs adapters: the local file system (node:fs) and a tjfs volume (src/api Volume), so
 * tree-endpoint.ts walks and writes both the same way.
 *
 * Design: reads are Node streams of at most `chunk` bytes per piece; writes pipe an async
 * iterable into a write stream (backpressure bounds memory to a few chunks).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Volume } from '../api/volume.js';
import type { TreeFs } from './tree-endpoint.js';

export function localTreeFs(): TreeFs {
  return {
    readdir: (p) => fsp.readdir(p),
    lstat: (p) => fsp.lstat(p),
    stat: (p) => fsp.stat(p),
    readlink: (p) => fsp.readlink(p),
    symlink: (t, p) => fsp.symlink(t, p),
    mkdir: (p, o) => fsp.mkdir(p, o),
    unlink: (p) => fsp.unlink(p),
    rmdir: (p) => fsp.rmdir(p),
    rename: (a, b) => fsp.rename(a, b),
    lutimes: (p, a, m) => fsp.lutimes(p, a, m),
    chmod: (p, m) => fsp.chmod(p, m),
    lchown: (p, u, g) => fsp.lchown(p, u, g),
    readChunks: (p, chunk) => createReadStream(p, { highWaterMark: chunk }) as AsyncIterable<Buffer>,
    writeChunks: (p, data) => pipeline(Readable.from(data), createWriteStream(p)),
  };
}

/** A tjfs volume opened through the API; `close` closes the volume. */
export function volumeTreeFs(v: Volume): TreeFs {
  return {
    readdir: (p) => v.readdir(p),
    lstat: (p) => v.lstat(p),
    stat: (p) => v.stat(p),
    readlink: (p) => v.readlink(p),
    symlink: (t, p) => v.symlink(t, p),
    mkdir: (p, o) => v.mkdir(p, o),
    unlink: (p) => v.unlink(p),
    rmdir: (p) => v.rmdir(p),
    rename: (a, b) => v.rename(a, b),
    lutimes: (p, a, m) => v.lutimes(p, a, m),
    chmod: (p, m) => v.chmod(p, m),
    lchown: (p, u, g) => v.lchown(p, u, g),
    readChunks: (p, chunk) => v.createReadStream(p, { highWaterMark: chunk }) as AsyncIterable<Buffer>,
    writeChunks: (p, data) => pipeline(Readable.from(data), v.createWriteStream(p, { flags: 'w' })),
    close: () => v.close(),
  };
}
