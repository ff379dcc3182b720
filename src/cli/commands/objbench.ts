/**
 * `tjfs objbench BUCKET --storage file|s3|minio|mem [--access-key] [--secret-key]
 * [--session-token] [--block-size 4M] [--big-object-size 1G] [--small-object-size 128K]
 * [--small-objects 100] [--skip-functional-tests] [-p/--threads 4]` (JuiceFS cmd/objbench.go).
 *
 * Design: the store is built by the object registry (the driver tjfs's chunk layer uses) under a
 * private `__juicefs_benchmark_<ns>__/` prefix and probed once without retries (a clear error
 * at once for an unreachable endpoint or a missing bucket); then, with 3 retries, checked by the functional cases (objbench-functional.ts) and
 * measured: small puts and gets, big-object blocks up and down, list, head, delete. The table
 * has JuiceFS's rows, order and units (MiB/s or objects/s, ms per object per thread).
 * Invariants: everything written is removed at the end, even on failure; keys 0..small-1 are
 * small objects and small..small+blocks-1 the blocks of the big object, as in JuiceFS.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PrefixedStore } from '../../object/prefixed.js';
import { listAll, type ObjectStore } from '../../object/object-store.js';
import { createRawObjectStore } from '../../object/registry.js';
import { RetryingStore } from '../../object/retrying.js';
import { CliError, err, helpExamples, out, parseIntArg, parseSize, type CliIo } from '../io.js';
import { formatTable, iBytes } from '../table.js';
import { functionalTests, NOT_SUPPORT } from './objbench-functional.js';

export interface ObjbenchFlags {
  storage: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  blockSize: string;
  bigObjectSize: string;
  smallObjectSize: string;
  smallObjects: string;
  skipFunctionalTests?: boolean;
  threads: string;
}

interface Config {
  storage: string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  blockSize: number;
  bigSize: number;
  smallSize: number;
  smallCount: number;
  blocks: number;
  threads: number;
  skipFunctional: boolean;
}

function config(bucket: string, f: ObjbenchFlags, io: CliIo): Config {
  const storage = f.storage.toLowerCase();
  const smallCount = parseIntArg(f.smallObjects, '--small-objects');
  const threads = parseIntArg(f.threads, '--threads');
  if (smallCount === 0) throw new CliError('--small-objects should not be set to zero');
  if (threads === 0) throw new CliError('--threads should not be set to zero');
  const blockSize = parseSize(f.blockSize, 'K', '--block-size');
  const bigSize = parseSize(f.bigObjectSize, 'M', '--big-object-size');
  const smallSize = parseSize(f.smallObjectSize, 'K', '--small-object-size');
  if (blockSize === 0 || bigSize === 0 || smallSize === 0)
    throw new CliError('block-size, big-object-size and small-object-size should not be zero');
  if (storage === 'file' || storage === 'local') {
    if (/^[a-z0-9+.-]+:\/\//i.test(bucket) && !bucket.startsWith('file://'))
      throw new CliError(
        `the bucket "${bucket}" doesn't look like a file path; did you forget --storage <type>?`,
      );
    const path = resolve(io.cwd ?? process.cwd(), bucket.replace(/^file:\/\//, ''));
    bucket = path.endsWith('/') ? path : path + '/';
  }
  const ak = f.accessKey ?? io.env.ACCESS_KEY;
  const sk = f.secretKey ?? io.env.SECRET_KEY;
  const token = f.sessionToken ?? io.env.SESSION_TOKEN;
  return {
    storage,
    bucket,
    ...(ak !== undefined && ak !== '' ? { accessKey: ak } : {}),
    ...(sk !== undefined && sk !== '' ? { secretKey: sk } : {}),
    ...(token !== undefined && token !== '' ? { sessionToken: token } : {}),
    blockSize,
    bigSize,
    smallSize,
    smallCount,
    blocks: Math.ceil(bigSize / blockSize),
    threads,
    skipFunctional: f.skipFunctionalTests === true,
  };
}

/** A clear one-line reason for a failed probe (no stack, no secrets). */
function reason(e: unknown): string {
  const name = e instanceof Error ? e.name : '';
  const m = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | undefined)?.code;
  if (name === 'NoSuchBucket') return 'the bucket does not exist';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH')
    return `endpoint unreachable (${code})`;
  if (code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR') return `${code}: ${m.split(',')[0] ?? m}`;
  return m !== '' ? m : name;
}

/** Block `i` of a benchmark: the seed rotated by `i` bytes (JuiceFS getMockData). */
function mockData(seed: Buffer, i: number, into: Buffer): Buffer {
  const off = i % seed.length;
  const n = seed.copy(into, 0, off);
  if (n < into.length) seed.copy(into, n, 0, into.length - n);
  return into;
}

interface Api {
  name: string;
  title: string;
  /** Keys first..first+count-1 (list: `count` listings). */
  first: number;
  count: number;
  fn: (key: number, buf: Buffer) => Promise<void>;
  value: (sec: number) => [string, string];
}

async function runApi(api: Api, threads: number, bufSize: number): Promise<[string, string, string]> {
  let next = api.first;
  const end = api.first + api.count;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(bufSize);
    while (failure === undefined && next < end) {
      const k = next++;
      try {
        await api.fn(k, buf);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(threads, api.count) }, worker)); // bounded by threads
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  if (failure !== undefined) return [api.title, `failed: ${reason(failure).slice(0, 40)}`, 'failed'];
  return [api.title, ...api.value(sec)];
}

function perObject(n: number, threads: number, sec: number): string {
  const ms = (threads * sec * 1000) / n;
  return `${ms < 0.01 ? ms.toPrecision(2) : ms.toFixed(2)} ms/object`;
}

function apis(c: Config, store: ObjectStore): Api[] {
  const seed = randomBytes(c.blockSize);
  const smallSeed = randomBytes(c.smallSize);
  const all = c.smallCount + c.blocks;
  const listCount = Math.min(all, 1000);
  const rate =
    (n: number, unit: string) =>
    (sec: number): [string, string] => [`${(n / sec).toFixed(2)} ${unit}`, perObject(n, c.threads, sec)];
  const mib = (c.blockSize / 1024 / 1024) * c.blocks;
  const check = async (key: number, want: Buffer, buf: Buffer): Promise<void> => {
    const got = await store.get(String(key), undefined, buf);
    if (got.length !== want.length || !got.subarray(0, 10).equals(want.subarray(0, 10)))
      throw new Error(`the downloaded content of ${key} is incorrect`);
  };
  return [
    {
      name: 'put',
      title: 'upload objects',
      first: c.smallCount,
      count: c.blocks,
      value: (s) => [`${(mib / s).toFixed(2)} MiB/s`, perObject(c.blocks, c.threads, s)],
      fn: (k, buf) => store.put(String(k), mockData(seed, k - c.smallCount, buf.subarray(0, c.blockSize))),
    },
    {
      name: 'get',
      title: 'download objects',
      first: c.smallCount,
      count: c.blocks,
      value: (s) => [`${(mib / s).toFixed(2)} MiB/s`, perObject(c.blocks, c.threads, s)],
      fn: (k, buf) => check(k, mockData(seed, k - c.smallCount, Buffer.allocUnsafe(c.blockSize)), buf),
    },
    {
      name: 'smallput',
      title: 'put small objects',
      first: 0,
      count: c.smallCount,
      value: rate(c.smallCount, 'objects/s'),
      fn: (k, buf) => store.put(String(k), mockData(smallSeed, k, buf.subarray(0, c.smallSize))),
    },
    {
      name: 'smallget',
      title: 'get small objects',
      first: 0,
      count: c.smallCount,
      value: rate(c.smallCount, 'objects/s'),
      fn: (k, buf) => check(k, mockData(smallSeed, k, Buffer.allocUnsafe(c.smallSize)), buf),
    },
    {
      name: 'list',
      title: 'list objects',
      first: 0,
      count: c.threads,
      value: (s) => [
        `${((listCount * c.threads) / s).toFixed(2)} objects/s`,
        `${(s * 1000).toFixed(2)} ms/ ${listCount} objects`,
      ],
      fn: async () => {
        let n = 0;
        for await (const _ of listAll(store, { pageSize: listCount })) if (++n >= listCount) break;
        if (n < listCount) throw new Error(`listed ${n} of ${listCount} objects`);
      },
    },
    {
      name: 'head',
      title: 'head objects',
      first: 0,
      count: all,
      value: rate(all, 'objects/s'),
      fn: async (k) => {
        if ((await store.head(String(k))) === undefined) throw new Error(`head ${k}: not found`);
      },
    },
    {
      name: 'delete',
      title: 'delete objects',
      first: 0,
      count: all,
      value: rate(all, 'objects/s'),
      fn: (k) => store.delete(String(k)),
    },
  ];
}

async function cleanup(c: Config, raw: ObjectStore, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const o of listAll(raw, { prefix })) keys.push(o.key); // only leftovers of a failed run
  for (const k of keys) await raw.delete(k);
  if (c.storage === 'file' || c.storage === 'local')
    await rm(c.bucket + prefix, { recursive: true, force: true });
}

export async function runObjbench(bucket: string, f: ObjbenchFlags, io: CliIo): Promise<number> {
  const c = config(bucket, f, io);
  const raw = await createRawObjectStore({
    storage: c.storage,
    bucket: c.bucket,
    ...(c.accessKey !== undefined ? { accessKey: c.accessKey } : {}),
    ...(c.secretKey !== undefined ? { secretKey: c.secretKey } : {}),
    ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}),
  }).catch((e: unknown) => {
    throw new CliError(`create storage failed: ${reason(e)}`);
  });
  const where = raw.describe();
  const prefix = `__juicefs_benchmark_${process.hrtime.bigint()}__/`;
  const prefixed = new PrefixedStore(raw, prefix);
  try {
    await prefixed.put('probe', Buffer.from('1'));
    await prefixed.delete('probe');
  } catch (e) {
    (raw as { destroy?: () => void }).destroy?.(); // S3: close pooled sockets
    throw new CliError(`cannot use bucket ${where}: ${reason(e)}`);
  }
  // Past the probe, transient errors are retried as the chunk layer does (JuiceFS's SDK
  // clients retry 3 times too).
  const store = new RetryingStore(prefixed, { retries: 3 });
  try {
    if (!c.skipFunctional) {
      out(io, 'Start Functional Testing ...');
      const rows = await functionalTests(store);
      out(
        io,
        formatTable([['CATEGORY', 'TEST', 'RESULT'], ...rows.map((r) => [r.category, r.test, r.result])], -1),
      );
    }
    let threads = c.threads;
    if (threads > c.blocks || threads > c.smallCount) {
      threads = Math.min(c.blocks, c.smallCount);
      err(io, `The number of threads was set too large and has been reduced to ${threads}`);
    }
    const cfg = { ...c, threads };
    out(io, 'Start Performance Testing ...');
    const rows: string[][] = [['ITEM', 'VALUE', 'COST']];
    const bufSize = Math.max(c.blockSize, c.smallSize);
    for (const api of apis(cfg, store)) rows.push(await runApi(api, threads, bufSize));
    for (const t of ['change permissions', 'change owner/group', 'update mtime'])
      rows.push([t, NOT_SUPPORT, NOT_SUPPORT]);
    out(
      io,
      `Benchmark finished! block-size: ${iBytes(c.blockSize)}, big-object-size: ${iBytes(c.bigSize)}, ` +
        `small-object-size: ${iBytes(c.smallSize)}, small-objects: ${c.smallCount}, NumThreads: ${threads}`,
    );
    out(io, formatTable(rows, -1));
    return rows.some((r) => r[2] === 'failed') ? 1 : 0;
  } finally {
    await cleanup(c, raw, prefix).catch((e: unknown) =>
      err(io, `objbench: cleanup of ${prefix} failed: ${reason(e)}`),
    );
    (raw as { destroy?: () => void }).destroy?.(); // S3: close pooled sockets so the process can exit
  }
}

export function registerObjbench(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('objbench')
    .description('run functional tests and benchmarks on an object storage')
    .argument('<BUCKET>', 'bucket: a local directory for file, or the endpoint URL for s3/minio')
    .option('--storage <type>', 'object storage type (file, s3, minio, mem)', 'file')
    .option('--access-key <key>', 'access key for object storage (env ACCESS_KEY)')
    .option('--secret-key <key>', 'secret key for object storage (env SECRET_KEY)')
    .option('--session-token <token>', 'session token for object storage (env SESSION_TOKEN)')
    .option('--block-size <size>', 'size of each IO block, KiB unless suffixed', '4M')
    .option('--big-object-size <size>', 'size of the big object, MiB unless suffixed', '1G')
    .option('--small-object-size <size>', 'size of each small object, KiB unless suffixed', '128K')
    .option('--small-objects <n>', 'number of small objects', '100')
    .option('--skip-functional-tests', 'skip the functional tests')
    .option('-p, --threads <n>', 'number of concurrent threads', '4')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs objbench /var/jfs-bench',
        'ACCESS_KEY=k SECRET_KEY=s tjfs objbench --storage s3 https://mybucket.s3.us-east-2.amazonaws.com -p 6',
      ),
    )
    .action((bucket: string, flags: ObjbenchFlags) => {
      setExit(runObjbench(bucket, flags, io));
    });
}
