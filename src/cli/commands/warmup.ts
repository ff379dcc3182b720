/**
 * `tjfs warmup PATH... [--file LIST] [--threads N] [--background] [--evict] [--check]`
 * (JuiceFS cmd/warmup.go): builds, drops or measures the mount's disk cache for the files
 * under the paths.
 *
 * Design (tjfs has no control file into the daemon): warming reads each file through the
 * mount itself with O_DIRECT, so the daemon fetches every block into its own cache (its
 * index stays right; the kernel page cache is bypassed). `--check` and `--evict` compute the
 * files' block keys from the metadata (meta URL from the mount's `.config`) and look at, or
 * remove, those files in the mount's cache directory `{cache-dir}/{UUID}/raw/`; the daemon
 * treats a block file that vanished as a miss and refetches it (src/cache/disk-cache.ts).
 * An evicted block that the daemon still holds open is read from that open file until closed.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { lstat, open, opendir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { blockKey, blockLen } from '../../base/block-key.js';
import { CHUNK_SIZE, type Ino } from '../../base/types.js';
import type { Meta } from '../../meta/meta.js';
import { buildVisible } from '../../meta/slices.js';
import { defaultCacheDir } from '../../vfs/runtime.js';
import { mapLimit } from '../../util/limits.js';
import { CliError, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { prepareLogFile } from '../logger.js';
import { openCliMeta } from '../meta-open.js';
import { callerContext, mountedPath } from '../mounted.js';
import { createProgress, type ProgressCounter } from '../progress.js';

export interface WarmupFlags {
  file?: string;
  threads: string;
  background?: boolean;
  evict?: boolean;
  check?: boolean;
}

type Action = 'warmup' | 'evict' | 'check';
const VIRTUAL = new Set(['.accesslog', '.stats', '.config', '.control', '.trash']);
const READ_BUF = 4 * 1024 * 1024;

interface Tally {
  files: ProgressCounter;
  bytes: number;
  cached: number;
}

/** Reads a file to the end through the mount, bypassing the page cache where the kernel allows. */
async function readThrough(path: string): Promise<number> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECT).catch(() => open(path, 'r'));
  try {
    const buf = Buffer.allocUnsafeSlow(READ_BUF); // page-aligned: O_DIRECT wants aligned buffers
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_BUF, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** The cache files (path, length) of the blocks a file's visible data uses. */
async function cacheFiles(meta: Meta, ino: Ino, rawDir: string): Promise<Map<string, number>> {
  const attr = await meta.getattr(callerContext(), ino);
  const bs = meta.format.BlockSize * 1024;
  const hp = meta.format.HashPrefix ?? false;
  const files = new Map<string, number>();
  for (let indx = 0; indx * CHUNK_SIZE < attr.length; indx++) {
    for (const r of buildVisible(await meta.readChunk(ino, indx))) {
      if (r.id === 0 || r.len === 0) continue;
      for (let b = Math.floor(r.off / bs); b <= Math.floor((r.off + r.len - 1) / bs); b++) {
        const len = blockLen(r.size, b, bs);
        files.set(join(rawDir, blockKey(r.id, b, len, hp)), len);
      }
    }
  }
  return files;
}

async function onFile(
  action: Action,
  path: string,
  ino: Ino,
  t: Tally,
  ctx: { meta?: Meta; rawDir: string },
): Promise<void> {
  if (action === 'warmup') {
    t.bytes += await readThrough(path);
  } else if (ctx.meta) {
    for (const [f, len] of await cacheFiles(ctx.meta, ino, ctx.rawDir)) {
      t.bytes += len;
      if (action === 'check') {
        if (
          await stat(f).then(
            () => true,
            () => false,
          )
        )
          t.cached += len;
      } else {
        await unlink(f).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
    }
  }
  t.files.increment();
}

/** Walks `path` (file or tree) through the mount, at most `threads` files at once per directory. */
async function walk(
  path: string,
  isRoot: boolean,
  threads: number,
  fn: (p: string, ino: Ino) => Promise<void>,
): Promise<void> {
  const st = await lstat(path, { bigint: true });
  if (st.isFile()) return fn(path, st.ino);
  if (!st.isDirectory()) return;
  const dirs: { p: string; root: boolean }[] = [{ p: path, root: isRoot }];
  for (let d = dirs.pop(); d !== undefined; d = dirs.pop()) {
    const files: string[] = [];
    for await (const e of await opendir(d.p)) {
      if (d.root && VIRTUAL.has(e.name)) continue;
      if (e.isDirectory()) dirs.push({ p: join(d.p, e.name), root: false });
      else if (e.isFile()) files.push(join(d.p, e.name));
    }
    await mapLimit(files, threads, async (f) => fn(f, (await lstat(f, { bigint: true })).ino));
  }
}

async function readList(file: string, io: CliIo): Promise<string[]> {
  const text = await readFile(resolve(io.cwd ?? process.cwd(), file), 'utf8').catch((e: Error) => {
    throw new CliError(`Failed to open file ${JSON.stringify(file)}: ${e.message}`);
  });
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function background(argv: readonly string[], io: CliIo): number {
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../bin.js');
  const args = argv.filter((a) => a !== '--background' && a !== '-b');
  // Its summary and errors go to the tjfs log, as the mount's do.
  const log = prepareLogFile(process.getuid?.() === 0 ? '/var/log/tjfs.log' : `${homedir()}/.tjfs/tjfs.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [bin, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: io.cwd ?? process.cwd(),
  });
  closeSync(fd);
  child.unref();
  out(io, `warmup: running in the background (pid ${child.pid}, log ${log})`);
  return 0;
}

export async function runWarmup(
  paths: readonly string[],
  flags: WarmupFlags,
  io: CliIo,
  argv: readonly string[],
): Promise<number> {
  if (flags.evict && flags.check) throw new CliError("--check and --evict can't be used together");
  const threads = parseIntArg(flags.threads, '--threads');
  if (threads < 1) throw new CliError('--threads must be at least 1');
  const all = [...paths, ...(flags.file ? await readList(flags.file, io) : [])].map((p) =>
    resolve(io.cwd ?? process.cwd(), p),
  );
  if (all.length === 0) throw new CliError('no path to warm up (give PATH... or --file LIST)');
  const m = mountedPath(all[0] as string, io); // all[0] exists: checked above
  for (const p of all) {
    if (p !== m.root && !p.startsWith(m.root + '/'))
      throw new CliError(`Path ${JSON.stringify(p)} is not under mount point ${JSON.stringify(m.root)}`);
    await lstat(p).catch((e: Error) => {
      throw new CliError(`${p}: ${e.message}`);
    });
  }
  if (flags.background) return background(argv, io);
  const action: Action = flags.evict ? 'evict' : flags.check ? 'check' : 'warmup';
  const cacheDir = typeof m.mount['cacheDir'] === 'string' ? m.mount['cacheDir'] : defaultCacheDir();
  const rawDir = join(cacheDir, m.uuid, 'raw');
  const meta = action === 'warmup' ? undefined : await openCliMeta(m.metaUrl, io, { readOnly: true });
  const progress = createProgress(io, action);
  const t: Tally = { files: progress.counter('Files'), bytes: 0, cached: 0 };
  try {
    const ctx = { rawDir, ...(meta ? { meta } : {}) };
    for (const p of all) await walk(p, p === m.root, threads, (f, ino) => onFile(action, f, ino, t, ctx));
  } finally {
    progress.done();
    await meta?.stop();
  }
  if (action === 'check') {
    const ratio = t.bytes === 0 ? 100 : (t.cached / t.bytes) * 100;
    out(
      io,
      `check: ${t.files.value} files checked, ${human(t.cached)} of ${human(t.bytes)} (${ratio.toFixed(1)}%) cached`,
    );
  } else {
    out(io, `${action}: ${t.files.value} files (${human(t.bytes)})`);
  }
  return 0;
}

export function registerWarmup(
  program: Command,
  io: CliIo,
  argv: readonly string[],
  setExit: (p: Promise<number>) => void,
): void {
  program
    .command('warmup')
    .description("build, drop (--evict) or measure (--check) the mount's cache for files and directories")
    .argument('[PATH...]', 'files or directories inside a mount')
    .option('-f, --file <list>', 'file containing a list of paths, one per line')
    .option('-p, --threads <n>', 'number of concurrent workers', '50')
    .option('-b, --background', 'run in the background')
    .option('--evict', 'evict the cached blocks')
    .option('--check', 'report how much of the data is cached')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs warmup /mnt/jfs/datasets/train',
        'tjfs warmup --check /mnt/jfs/datasets',
        'tjfs warmup -f list.txt -p 8 -b',
      ),
    )
    .action((paths: string[], flags: WarmupFlags) => setExit(runWarmup(paths, flags, io, argv)));
}
