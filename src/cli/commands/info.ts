/**
 * `tjfs info PATH... [-i] [-r] [--strict] [--raw]` (JuiceFS cmd/info.go, same output): the
 * inode, file and directory counts, length and space, the path, and for a file the chunk
 * table — visible slices with --raw, otherwise the object keys and the byte range of each
 * block they cover — then flock and POSIX lock owners.
 *
 * JuiceFS asks the mount over `.control` (InfoV2); tjfs mounts have no control channel, so
 * the volume is opened read-only from the meta URL in the mount's `.config`
 * (mounted-volume.ts). With -i the arguments are inode numbers of the volume the current
 * directory is in. --strict is accepted: tjfs always walks the tree (no directory stats).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CHUNK_SIZE, FileType, type Ino, type Slice } from '../../base/types.js';
import { decodePlocks } from '../../meta/encoding.js';
import type { Format } from '../../meta/format.js';
import type { Meta } from '../../meta/meta.js';
import { buildVisible } from '../../meta/slices.js';
import { getSummary } from '../../meta/tree-ops.js';
import { CliError, err, helpExamples, out, type CliIo } from '../io.js';
import { inodeOf, openMounted, pathsOf, type MountedVolume } from '../mounted.js';
import { createProgress } from '../progress.js';
import { formatBytes, formatTable } from '../table.js';

export interface InfoFlags {
  inode?: boolean;
  recursive?: boolean;
  strict?: boolean;
  raw?: boolean;
}

interface ObjectRow {
  indx: number;
  key: string;
  size: number;
  off: number;
  len: number;
}

/** The blocks a visible slice covers (JuiceFS vfs.CalcObjects); a hole is one keyless row. */
export function calcObjects(format: Format, indx: number, s: Slice): ObjectRow[] {
  if (s.id === 0) return [{ indx, key: '', size: s.size, off: s.off, len: s.len }];
  if (s.len === 0 || s.off + s.len > s.size) return [];
  const bsize = format.BlockSize * 1024;
  const id = s.id;
  const prefix = format.HashPrefix
    ? `${format.Name}/chunks/${(id % 256).toString(16).toUpperCase().padStart(2, '0')}/${Math.floor(id / 1e6)}/${id}`
    : `${format.Name}/chunks/${Math.floor(id / 1e6)}/${Math.floor(id / 1e3)}/${id}`;
  const first = Math.floor(s.off / bsize);
  const last = Math.floor((s.off + s.len - 1) / bsize);
  const rows: ObjectRow[] = [];
  for (let b = first; b <= last; b++) {
    const size = Math.min(bsize, s.size - b * bsize);
    const start = Math.max(s.off, b * bsize) - b * bsize;
    const end = Math.min(s.off + s.len, (b + 1) * bsize) - b * bsize;
    rows.push({ indx, key: `${prefix}_${b}_${size}`, size, off: start, len: end - start });
  }
  return rows;
}

async function chunkTables(meta: Meta, ino: Ino, length: number, raw: boolean): Promise<string> {
  const slices: string[][] = [['chunkIndex', 'sliceId', 'size', 'offset', 'length']];
  const objects: string[][] = [['chunkIndex', 'objectName', 'size', 'offset', 'length', 'pos']];
  let chunkOffset = 0;
  let lastChunk = 0;
  for (let indx = 0; indx * CHUNK_SIZE < length; indx++) {
    for (const s of buildVisible(await meta.readChunk(ino, indx))) {
      if (raw) {
        slices.push([indx, s.id, s.size, s.off, s.len].map(String));
        continue;
      }
      for (const o of calcObjects(meta.format, indx, s)) {
        if (lastChunk !== o.indx) chunkOffset = 0;
        const pos = chunkOffset + o.indx * CHUNK_SIZE;
        if (pos + o.len > length) break;
        lastChunk = o.indx;
        objects.push([String(o.indx), o.key, String(o.size), String(o.off), String(o.len), String(pos)]);
        chunkOffset += o.len;
      }
    }
  }
  if (slices.length > 1) return ' chunks:\n' + formatTable(slices, -1);
  if (objects.length > 1) return ' objects:\n' + formatTable(objects, 1);
  return '';
}

async function lockTables(meta: Meta, ino: Ino): Promise<string> {
  const { flocks, plocks } = await meta.listLocks(ino);
  let text = '';
  if (flocks.length > 0) {
    const rows = [['Sid', 'Owner', 'Type'], ...flocks.map((l) => [String(l.sid), String(l.owner), l.type])];
    text += ' flocks:\n' + formatTable(rows, 0);
  }
  const prow: string[][] = [['Sid', 'Owner', 'Type', 'Pid', 'Start', 'End']];
  for (const p of plocks)
    for (const r of decodePlocks(p.records)) {
      const type = r.type === 0 ? 'R' : r.type === 1 ? 'W' : 'UNKNOWN';
      prow.push([String(p.sid), String(p.owner), type, String(r.pid), String(r.start), String(r.end)]);
    }
  if (prow.length > 1) text += ' plocks:\n' + formatTable(prow, 0);
  return text;
}

async function infoOne(v: MountedVolume, arg: string, ino: Ino, f: InfoFlags, io: CliIo): Promise<void> {
  const p = createProgress(io, `info ${arg}`, f.recursive ? {} : { quiet: true });
  const counted = p.counter('entries');
  const s = await getSummary(v.meta, ino, {
    recursive: f.recursive === true,
    onProgress: (n, b) => counted.increment(n, b),
  });
  p.done();
  const paths = await pathsOf(v.meta, v.root, ino);
  const lines = [
    `${arg} :`,
    `  inode: ${ino}`,
    `  files: ${s.files}`,
    `   dirs: ${s.dirs}`,
    ` length: ${formatBytes(s.length)}`,
    `   size: ${formatBytes(s.size)}`,
  ];
  if (paths.length === 0) lines.push('   path: unknown');
  else if (paths.length === 1) lines.push(`   path: ${paths[0]}`);
  else lines.push('  paths:', ...paths.map((x) => `\t${x}`));
  let text = lines.join('\n') + '\n';
  const a = await v.meta.getattrs([ino]);
  if (s.files === 1 && s.dirs === 0 && a[0]?.type === FileType.File)
    text += await chunkTables(v.meta, ino, s.length, f.raw === true);
  text += await lockTables(v.meta, ino);
  out(io, text);
}

export async function runInfo(args: string[], f: InfoFlags, io: CliIo): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  let failed = 0;
  for (const arg of args) {
    if (f.inode && !/^\d+$/.test(arg)) throw new CliError(`invalid inode '${arg}': want a number`);
    const abs = resolve(cwd, f.inode ? '.' : arg);
    let v: MountedVolume;
    try {
      v = await openMounted(abs, io);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      err(io, `tjfs: ${e.message}`);
      failed++;
      continue;
    }
    try {
      const ino = f.inode ? BigInt(arg) : inodeOf(v, abs);
      if (ino < 1n) throw new CliError("inode number shouldn't be less than 1");
      await infoOne(v, arg, ino, f, io);
    } catch (e) {
      if (e instanceof CliError) throw e;
      err(io, `tjfs: info ${arg}: ${e instanceof Error ? e.message : String(e)}`);
      failed++;
    } finally {
      await v.close();
    }
  }
  return failed > 0 ? 1 : 0;
}

export function registerInfo(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('info')
    .description('show internal information of a path or inode')
    .argument('<PATH...>', 'paths inside a tjfs mount (inode numbers with -i)')
    .option('-i, --inode', 'use inode instead of path (current dir should be inside the mount)')
    .option('-r, --recursive', 'get summary of directories recursively')
    .option('--strict', 'get accurate summary of directories (tjfs always walks the tree)')
    .option('--raw', 'show internal raw information (slices instead of objects)')
    .addHelpText('after', helpExamples('tjfs info /mnt/jfs/foo', 'cd /mnt/jfs && tjfs info -i 100'))
    .action((paths: string[], f: InfoFlags) => setExit(runInfo(paths, f, io)));
}
