/**
 * `tjfs mdtest META-URL PATH [--dirs 3] [--depth 2] [--files 10] [--threads 1] [--write 0]
 * [--access-log FILE]` (JuiceFS cmd/mdtest.go, a hidden tool there): builds a tree directly
 * through the metadata engine, with no mount, and reports the rate of each phase.
 *
 * Tree (as JuiceFS): PATH/test-dir.0-0/mdtest_tree.0, then `depth` levels of `dirs`
 * subdirectories named mdtest_tree.N. Every directory of the tree gets `files` files per
 * thread, named file.mdtest.<thread>.<i>; each thread walks the subdirectories in its own
 * random order. `--write N` gives each file N bytes of slice records (metadata only, as
 * JuiceFS: new slice ids are committed, nothing is uploaded).
 * Design: PATH is made with mkdir -p semantics (an existing PATH is fine, as JuiceFS only logs
 * it); test-dir.0-0 must not exist. Threads are concurrent async workers over one session.
 * `--access-log` appends one JuiceFS-format line per metadata call.
 */
import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CHUNK_SIZE, FileType, ROOT_INODE, type Context, type Ino } from '../../base/types.js';
import { isFsError } from '../../base/errno.js';
import type { Meta } from '../../meta/meta.js';
import { CliError, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { createProgress, type ProgressCounter } from '../progress.js';

export interface MdtestFlags {
  threads: string;
  dirs: string;
  depth: string;
  files: string;
  write: string;
  accessLog?: string;
}

export interface MdtestResult {
  dirs: number;
  files: number;
  dirSeconds: number;
  fileSeconds: number;
}

interface Tree {
  meta: Meta;
  ctx: Context;
  umask: number;
  width: number;
  files: number;
  bytes: number;
  log: (op: string, args: string, result: string, t0: bigint) => void;
}

function stamp(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

/** A logger writing JuiceFS access-log lines to `file` (appended in batches), or a no-op. */
function accessLog(file: string | undefined, ctx: Context): { log: Tree['log']; flush: () => void } {
  if (file === undefined) return { log: () => undefined, flush: () => undefined };
  let lines: string[] = [];
  const flush = (): void => {
    if (lines.length > 0) appendFileSync(file, lines.join(''));
    lines = [];
  };
  const who = `[uid:${ctx.uid},gid:${ctx.gid},pid:${ctx.pid}]`;
  return {
    log: (op, args, result, t0) => {
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      lines.push(`${stamp(new Date())} ${who} ${op} (${args}): ${result} <${sec.toFixed(6)}>\n`);
      if (lines.length >= 1000) flush();
    },
    flush,
  };
}

function errText(e: unknown): string {
  return isFsError(e) ? e.code : e instanceof Error ? e.message : String(e);
}

async function mkdir(t: Tree, parent: Ino, name: string): Promise<Ino> {
  const t0 = process.hrtime.bigint();
  try {
    const r = await t.meta.mkdir(t.ctx, parent, Buffer.from(name), 0o777, t.umask);
    t.log('mkdir', `${parent},${name},-rwxrwxrwx`, `OK (${r.ino})`, t0);
    return r.ino;
  } catch (e) {
    t.log('mkdir', `${parent},${name},-rwxrwxrwx`, errText(e), t0);
    throw e;
  }
}

/** PATH with mkdir -p semantics; returns its inode. */
async function makePath(t: Tree, path: string): Promise<Ino> {
  let ino = ROOT_INODE;
  for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
    try {
      ino = await mkdir(t, ino, part);
    } catch (e) {
      if (!isFsError(e) || e.code !== 'EEXIST') throw e;
      const r = await t.meta.lookup(t.ctx, ino, Buffer.from(part));
      if (r.attr.type !== FileType.Directory) throw new CliError(`mkdir ${path}: ${part} is not a directory`);
      ino = r.ino;
    }
  }
  return ino;
}

interface Dir {
  ino: Ino;
  children: Dir[];
}

async function createDirs(
  t: Tree,
  parent: Ino,
  name: string,
  depth: number,
  made: ProgressCounter,
): Promise<Dir> {
  const ino = await mkdir(t, parent, name);
  made.increment();
  const children: Dir[] = [];
  if (depth > 0)
    for (let i = 0; i < t.width; i++)
      children.push(await createDirs(t, ino, `mdtest_tree.${i}`, depth - 1, made));
  return { ino, children };
}

async function createFile(t: Tree, dir: Ino, name: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  let ino: Ino;
  try {
    ino = (await t.meta.create(t.ctx, dir, Buffer.from(name), 0o666, t.umask)).ino;
    t.log('create', `${dir},${name},-rw-rw-rw-`, `OK (${ino})`, t0);
  } catch (e) {
    t.log('create', `${dir},${name},-rw-rw-rw-`, errText(e), t0);
    throw new CliError(`create ${name} in inode ${dir}: ${errText(e)}`);
  }
  try {
    for (let indx = 0; indx * CHUNK_SIZE < t.bytes; indx++) {
      const size = Math.min(CHUNK_SIZE, t.bytes - indx * CHUNK_SIZE);
      const id = await t.meta.newSliceId();
      const now = Date.now();
      await t.meta.writeSlice(
        ino,
        indx,
        { pos: 0, id, size, off: 0, len: size },
        {
          sec: Math.floor(now / 1000),
          nsec: (now % 1000) * 1e6,
        },
      );
    }
  } finally {
    await t.meta.close(ino);
  }
}

/** One thread's files: `files` in this directory, then the subdirectories in random order. */
async function createFiles(t: Tree, np: number, d: Dir, done: ProgressCounter): Promise<void> {
  for (let i = 0; i < t.files; i++) {
    await createFile(t, d.ino, `file.mdtest.${np}.${i}`);
    done.increment();
  }
  const order = d.children.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const i of order) await createFiles(t, np, d.children[i]!, done);
}

export interface MdtestOptions {
  threads: number;
  dirs: number;
  depth: number;
  files: number;
  write: number;
  accessLog?: string;
}

/** Builds the tree on an open meta (session started) and returns the counts and times. */
export async function mdtestTree(
  meta: Meta,
  ctx: Context,
  path: string,
  o: MdtestOptions,
  io: CliIo,
): Promise<MdtestResult> {
  let dirs = 1;
  for (let w = o.dirs, z = o.depth; z > 0; z--, w *= o.dirs) dirs += w;
  const total = dirs * o.threads * o.files;
  const alog = accessLog(o.accessLog, ctx);
  const t: Tree = {
    meta,
    ctx,
    umask: ctx.umask ?? 0o022,
    width: o.dirs,
    files: o.files,
    bytes: o.write,
    log: alog.log,
  };
  const progress = createProgress(io, 'mdtest');
  try {
    const made = progress.counter('create dir', dirs);
    const created = progress.counter('create file', total);
    const t0 = process.hrtime.bigint();
    const base = await makePath(t, path);
    const top = await mkdir(t, base, 'test-dir.0-0').catch((e: unknown) => {
      const why = isFsError(e) && e.code === 'EEXIST' ? 'already exists (use another PATH)' : errText(e);
      throw new CliError(`mkdir ${path}/test-dir.0-0: ${why}`);
    });
    const root = await createDirs(t, top, 'mdtest_tree.0', o.depth, made);
    const t1 = process.hrtime.bigint();
    const workers = Array.from({ length: o.threads }, (_, np) => createFiles(t, np, root, created));
    const settled = await Promise.allSettled(workers); // o.threads workers, bounded by --threads
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const t2 = process.hrtime.bigint();
    return { dirs, files: total, dirSeconds: Number(t1 - t0) / 1e9, fileSeconds: Number(t2 - t1) / 1e9 };
  } finally {
    progress.done();
    alog.flush();
  }
}

function rate(n: number, sec: number): number {
  return Math.floor(n / Math.max(sec, 1e-9));
}

export async function runMdtest(metaUrl: string, path: string, f: MdtestFlags, io: CliIo): Promise<number> {
  const o: MdtestOptions = {
    threads: parseIntArg(f.threads, '--threads'),
    dirs: parseIntArg(f.dirs, '--dirs'),
    depth: parseIntArg(f.depth, '--depth'),
    files: parseIntArg(f.files, '--files'),
    write: parseIntArg(f.write, '--write'),
    ...(f.accessLog !== undefined ? { accessLog: f.accessLog } : {}),
  };
  if (o.threads === 0) throw new CliError('--threads should be at least 1');
  if (o.depth > 0 && o.dirs === 0) throw new CliError('--dirs should be at least 1 when --depth is above 0');
  const meta = await openCliMeta(metaUrl, io);
  try {
    await meta.start({ MountPoint: 'mdtest' }, { heartbeat: true });
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const umask = process.umask();
    const ctx: Context = { uid, gid, gids: [gid], pid: 1, umask };
    let dirs = 1;
    for (let w = o.dirs, z = o.depth; z > 0; z--, w *= o.dirs) dirs += w;
    out(io, `Create ${dirs * o.threads * o.files} files in ${dirs} dirs`);
    const r = await mdtestTree(meta, ctx, path, o, io);
    out(io, `Created ${r.dirs} dirs in ${r.dirSeconds.toFixed(3)}s (${rate(r.dirs, r.dirSeconds)} dirs/s)`);
    out(
      io,
      `Created ${r.files} files in ${r.fileSeconds.toFixed(3)}s (${rate(r.files, r.fileSeconds)} files/s)`,
    );
    return 0;
  } finally {
    await meta.stop();
  }
}

export function registerMdtest(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('mdtest')
    .description(
      'create a tree of directories and files through the metadata engine (no mount) and report rates',
    )
    .argument('<META-URL>', 'metadata engine URL of a formatted volume')
    .argument('<PATH>', 'directory inside the volume (created if missing)')
    .option('--threads <n>', 'number of concurrent workers, each with its own files', '1')
    .option('--dirs <n>', 'number of subdirectories per directory', '3')
    .option('--depth <n>', 'levels of the tree', '2')
    .option('--files <n>', 'number of files per directory per worker', '10')
    .option('--write <bytes>', 'bytes of slice records per file (metadata only)', '0')
    .option('--access-log <file>', 'append an access-log line per metadata call to FILE')
    .addHelpText(
      'after',
      helpExamples('tjfs mdtest redis://localhost/1 /test1 --dirs 10 --depth 3 --files 100 --threads 4'),
    )
    .action((metaUrl: string, path: string, flags: MdtestFlags) =>
      setExit(runMdtest(metaUrl, path, flags, io)),
    );
}
