/**
 * API benchmark: nnbench-like metadata rates through the HDFS-style FileSystem (create,
 * open, rename, delete of empty files, one client; sequential and with 8 concurrent
 * callers) on SQLite and on Redis (a private redis-server started and stopped here), and
 * sequential write/read MiB/s through the WebHDFS gateway next to the direct API on the
 * same volume in the same run (ratios). JSON to bench-results/api.json, stamped with the
 * commit and the machine. Baseline quoted for comparison: JuiceFS's Hadoop SDK, about
 * 650 create/s, 3,500 open/s, 480 rename/s, 500 delete/s per client.
 *
 * Size knobs (env): TJFS_BENCH_API_FILES (default 1000 files per pass),
 * TJFS_BENCH_API_MIB (default 256 MiB streamed each way). Default run: well under 2 min.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HdfsFileSystem } from '../src/api/hdfs.js';
import { UserDb } from '../src/api/users.js';
import { startWebHdfsGateway } from '../src/gateway/webhdfs.js';
import { formatTestVolume } from '../test/helpers/api-volume.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { envNumber, stamp, type Stamp } from './stamp.js';

const MiB = 1024 * 1024;
export const JUICEFS_HADOOP_SDK = { create: 650, open: 3500, rename: 480, delete: 500 } as const;
type MetaOp = keyof typeof JUICEFS_HADOOP_SDK;

export interface ApiBenchOptions {
  files?: number;
  mib?: number;
  outFile?: string;
  log?: (line: string) => void;
}

export interface ApiBenchResult extends Stamp {
  config: { files: number; mib: number; concurrency: number[] };
  nnbench: Record<string, Record<string, Record<MetaOp, number>>>;
  throughput: {
    apiWriteMiBs: number;
    apiReadMiBs: number;
    webhdfsWriteMiBs: number;
    webhdfsReadMiBs: number;
  };
  ratios: {
    webhdfsVsApi: { write: number; read: number };
    vsJuiceFsHadoopSdk: Record<string, Record<MetaOp, number>>;
  };
  targets: typeof JUICEFS_HADOOP_SDK;
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function timed(n: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function nnbench(
  fs: HdfsFileSystem,
  files: number,
  concurrency: number,
  tag: string,
): Promise<Record<MetaOp, number>> {
  const dir = `/nnbench/${tag}`;
  await fs.mkdirs(dir);
  const name = (i: number): string => `${dir}/f${i}`;
  const create = await timed(files, concurrency, async (i) =>
    (await fs.create(name(i), { overwrite: false })).close(),
  );
  const buf = Buffer.alloc(1);
  const open = await timed(files, concurrency, async (i) => {
    const s = await fs.open(name(i));
    await s.read(buf);
    await s.close();
  });
  const rename = await timed(files, concurrency, async (i) => {
    if (!(await fs.rename(name(i), `${name(i)}.r`))) throw new Error(`rename ${name(i)} failed`);
  });
  const del = await timed(files, concurrency, async (i) => {
    if (!(await fs.delete(`${name(i)}.r`, false))) throw new Error(`delete ${name(i)} failed`);
  });
  return {
    create: Math.round(create),
    open: Math.round(open),
    rename: Math.round(rename),
    delete: Math.round(del),
  };
}

function httpStream(
  url: string,
  method: string,
  body?: (write: (b: Buffer) => Promise<void>) => Promise<void>,
): Promise<{ status: number; headers: Record<string, unknown>; bytes: number }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: u.pathname + u.search,
        headers: body ? { 'Transfer-Encoding': 'chunked', 'Content-Type': 'application/octet-stream' } : {},
      },
      (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (!body) return void req.end();
    const write = (b: Buffer): Promise<void> =>
      req.write(b) ? Promise.resolve() : new Promise((r) => req.once('drain', () => r()));
    body(write).then(() => req.end(), reject);
  });
}

async function throughput(
  fs: HdfsFileSystem,
  mib: number,
  log: (l: string) => void,
): Promise<ApiBenchResult['throughput']> {
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  const mibs = (t0: number): number => round(mib / ((performance.now() - t0) / 1000));
  let t0 = performance.now();
  const out = await fs.create('/tp/api.bin');
  for (let i = 0; i < mib; i++) await out.write(chunk);
  await out.close();
  const apiWriteMiBs = mibs(t0);
  t0 = performance.now();
  const inp = await fs.open('/tp/api.bin');
  const rb = Buffer.allocUnsafe(MiB);
  while ((await inp.read(rb)) > 0);
  await inp.close();
  const apiReadMiBs = mibs(t0);
  const gw = await startWebHdfsGateway({ fs, port: 0 });
  try {
    const base = `${gw.url}/webhdfs/v1/tp/gw.bin`;
    t0 = performance.now();
    const nn = await httpStream(`${base}?op=CREATE&user.name=root&overwrite=true`, 'PUT');
    const dn = await httpStream(String(nn.headers['location']), 'PUT', async (w) => {
      for (let i = 0; i < mib; i++) await w(chunk);
    });
    if (dn.status !== 201) throw new Error(`gateway CREATE: HTTP ${dn.status}`);
    const webhdfsWriteMiBs = mibs(t0);
    t0 = performance.now();
    const rd = await httpStream(`${base}?op=OPEN&user.name=root`, 'GET');
    if (rd.bytes !== mib * MiB) throw new Error(`gateway OPEN returned ${rd.bytes} bytes`);
    const webhdfsReadMiBs = mibs(t0);
    log(
      `api: ${mib} MiB direct write ${apiWriteMiBs} / read ${apiReadMiBs} MiB/s; WebHDFS write ${webhdfsWriteMiBs} / read ${webhdfsReadMiBs} MiB/s`,
    );
    return { apiWriteMiBs, apiReadMiBs, webhdfsWriteMiBs, webhdfsReadMiBs };
  } finally {
    await gw.close();
  }
}

export async function runApiBench(opts: ApiBenchOptions = {}): Promise<ApiBenchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const files = opts.files ?? envNumber('TJFS_BENCH_API_FILES', 1000);
  const mib = opts.mib ?? envNumber('TJFS_BENCH_API_MIB', 256);
  const concurrency = [1, 8];
  const users = new UserDb({ passwd: 'root:x:0:0::/root:/bin/sh\n', group: 'root:x:0:\n' });
  const nn: ApiBenchResult['nnbench'] = {};
  const scratch = await mkdtemp(join(tmpdir(), 'tjfs-apibench-'));
  const redis = await startRedis();
  let tp: ApiBenchResult['throughput'] | undefined;
  try {
    for (const [engine, meta] of [
      ['sqlite', 'sqlite'],
      ['redis', { redisUrl: redis.url }],
    ] as const) {
      const tv = await formatTestVolume({ meta, storage: 'file' });
      const fs = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0, users, cacheSize: 256 * MiB });
      try {
        nn[engine] = {};
        for (const c of concurrency) {
          const r = await nnbench(fs, files, c, `c${c}`);
          nn[engine][`c${c}`] = r;
          log(`api: nnbench ${engine} concurrency ${c}: ${JSON.stringify(r)} ops/s`);
        }
        if (engine === 'sqlite') tp = await throughput(fs, mib, log);
      } finally {
        await fs.close();
        await tv.cleanup();
      }
    }
  } finally {
    await redis.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const vs: Record<string, Record<MetaOp, number>> = {};
  for (const [engine, byC] of Object.entries(nn)) {
    for (const [c, r] of Object.entries(byC)) {
      vs[`${engine}.${c}`] = {
        create: round(r.create / JUICEFS_HADOOP_SDK.create),
        open: round(r.open / JUICEFS_HADOOP_SDK.open),
        rename: round(r.rename / JUICEFS_HADOOP_SDK.rename),
        delete: round(r.delete / JUICEFS_HADOOP_SDK.delete),
      };
    }
  }
  const t = tp!;
  const result: ApiBenchResult = {
    ...stamp(),
    config: { files, mib, concurrency },
    nnbench: nn,
    throughput: t,
    ratios: {
      webhdfsVsApi: {
        write: round(t.webhdfsWriteMiBs / t.apiWriteMiBs),
        read: round(t.webhdfsReadMiBs / t.apiReadMiBs),
      },
      vsJuiceFsHadoopSdk: vs,
    },
    targets: JUICEFS_HADOOP_SDK,
  };
  const out = opts.outFile ?? join('bench-results', 'api.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  return result;
}
