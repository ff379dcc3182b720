/**
 * One place to observe every VFS operation: a latency histogram and error counter per op
 * (served as Prometheus text by `.stats`), and the live access log (`.accesslog`) in
 * JuiceFS's line format, fanned out to readers with bounded per-reader buffers.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StagingStats } from '../cache/writeback.js';
import type { ChunkStoreStats as ChunkStats } from '../chunk/chunk-store.js';
import type { Logger } from '../util/logger.js';
import type { Context } from '../base/types.js';
import type { MetaRetryStats } from '../meta/retry-policy.js';
import type { ObjectRetryStats } from '../object/retrying.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';

const MAX_BUFFERED_LINES = 10_000;

export class AccessLog {
  private readers = new Set<{ lines: string[]; wake?: () => void }>();

  get active(): boolean {
    return this.readers.size > 0;
  }

  log(line: string): void {
    for (const r of this.readers) {
      if (r.lines.length < MAX_BUFFERED_LINES) r.lines.push(line);
      r.wake?.();
    }
  }

  /** Opens a reader; `next()` waits for lines (or the signal) and returns them joined. */
  open(): { next(max: number, signal?: AbortSignal): Promise<Buffer>; close(): void } {
    const r: { lines: string[]; wake?: () => void } = { lines: [] };
    this.readers.add(r);
    return {
      next: async (max, signal) => {
        while (r.lines.length === 0) {
          if (signal?.aborted) return Buffer.alloc(0);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 1000);
            r.wake = () => {
              clearTimeout(t);
              resolve();
            };
            signal?.addEventListener('abort', () => r.wake?.(), { once: true });
          });
          delete r.wake;
        }
        const out: string[] = [];
        let size = 0;
        while (r.lines.length > 0 && size + Buffer.byteLength(r.lines[0]!) <= max) {
          const l = r.lines.shift()!;
          size += Buffer.byteLength(l);
          out.push(l);
        }
        if (out.length === 0) out.push(r.lines.shift()!.slice(0, max));
        return Buffer.from(out.join(''));
      },
      close: () => {
        this.readers.delete(r);
        r.wake?.();
      },
    };
  }
}

function stamp(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

export class Observer {
  readonly registry = new Registry();
  readonly accessLog = new AccessLog();
  private readonly ops: Histogram;
  private readonly errors: Counter;
  readonly readBytes: Counter;
  readonly writtenBytes: Counter;
  readonly usedSpace: Gauge;
  readonly usedInodes: Gauge;

  private readonly failures: RateLimitedLog | undefined;

  /** `log`: where failures with EIO (never an expected errno) are written, rate-limited per op. */
  constructor(labels: Record<string, string> = {}, log?: Logger) {
    this.failures = log !== undefined ? new RateLimitedLog(log) : undefined;
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.ops = new Histogram({
      name: 'juicefs_fuse_ops_durations_histogram_seconds',
      help: 'Operations latency distributions.',
      labelNames: ['method'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.errors = new Counter({
      name: 'tjfs_fuse_op_errors_total',
      help: 'Failed operations by method and errno.',
      labelNames: ['method', 'errno'],
      registers,
    });
    this.readBytes = new Counter({
      name: 'juicefs_fuse_read_size_bytes_total',
      help: 'Bytes read through the file system.',
      registers,
    });
    this.writtenBytes = new Counter({
      name: 'juicefs_fuse_written_size_bytes_total',
      help: 'Bytes written through the file system.',
      registers,
    });
    this.usedSpace = new Gauge({ name: 'juicefs_used_space', help: 'Total used space in bytes.', registers });
    this.usedInodes = new Gauge({
      name: 'juicefs_used_inodes',
      help: 'Total used number of inodes.',
      registers,
    });
  }

  /** Runs `fn` as operation `op`, recording latency, errors and an access-log line. */
  async run<T>(
    op: string,
    ctx: Context,
    describe: () => string,
    fn: () => Promise<T>,
    result?: (r: T) => string,
  ): Promise<T> {
    const start = process.hrtime.bigint();
    let status = 'OK';
    let extra = '';
    try {
      const r = await fn();
      if (result && this.accessLog.active) extra = ' ' + result(r);
      return r;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      status = typeof code === 'string' ? code : 'EIO';
      this.errors.inc({ method: op, errno: status });
      if (status === 'EIO')
        this.failures?.error(`op:${op}`, `${op} failed`, {
          args: describe(),
          err: e instanceof Error ? e.message : String(e),
        });
      throw e;
    } finally {
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      this.ops.observe({ method: op }, secs);
      if (this.accessLog.active) {
        this.accessLog.log(
          `${stamp(new Date())} [uid:${ctx.uid},gid:${ctx.gid},pid:${ctx.pid}] ${op} (${describe()}): ${status}${extra} <${secs.toFixed(6)}>\n`,
        );
      }
    }
  }

  /** Client-wide metrics in JuiceFS's names: transactions, object requests, cache, process. */
  attach(sources: {
    onTxn: (fn: (op: string, secs: number) => void) => void;
    stats: () => ChunkStats;
    /** Retry counters of the object store, when it retries (objectRetryStats). */
    objects?: () => ObjectRetryStats | undefined;
    /** Writeback staging backlog (stagingStats). */
    staging?: () => StagingStats | undefined;
    /** Outage handling of the metadata engine (MetaEngine.outageStats). */
    meta?: () => MetaRetryStats | undefined;
    /** Transactions restarted after a conflict (Meta.txRestarts). */
    txRestarts?: () => number | undefined;
  }): void {
    const registers = [this.registry];
    this.attachFaults(sources);
    const txn = new Histogram({
      name: 'juicefs_transaction_durations_histogram_seconds',
      help: 'Transactions latency distributions.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    sources.onTxn((_op, secs) => txn.observe(secs));
    const cumulative = (name: string, help: string, pick: (s: ChunkStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(sources.stats()));
        },
      });
    };
    cumulative('juicefs_object_request_get_total', 'Whole-block GET requests.', (s) => s.blockGets);
    cumulative('juicefs_object_request_range_get_total', 'Ranged GET requests.', (s) => s.rangeGets);
    cumulative('juicefs_object_request_put_total', 'PUT requests.', (s) => s.blockPuts);
    cumulative('juicefs_object_request_data_bytes_get', 'Bytes downloaded.', (s) => s.bytesDownloaded);
    cumulative('juicefs_object_request_data_bytes_put', 'Bytes uploaded.', (s) => s.bytesUploaded);
    cumulative(
      'juicefs_blockcache_hits',
      'Reads served by the block cache or buffer.',
      (s) => s.cacheHits + s.bufferHits,
    );
    cumulative(
      'tjfs_blockcache_corruptions',
      'Cached blocks that failed their checksum, dropped and read again from the object store.',
      (s) => s.cacheCorruptions,
    );
    cumulative('tjfs_blockcache_errors', 'Block cache reads and writes that failed.', (s) => s.cacheErrors);
    const started = Date.now();
    new Gauge({
      name: 'juicefs_uptime',
      help: 'Client uptime in seconds.',
      registers,
      collect() {
        this.set((Date.now() - started) / 1000);
      },
    });
    new Gauge({
      name: 'juicefs_memory',
      help: 'Resident memory in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'juicefs_cpu_usage',
      help: 'CPU seconds used by the client.',
      registers,
      collect() {
        const u = process.cpuUsage();
        this.set((u.user + u.system) / 1e6);
      },
    });
  }

  /** The automatic metadata backup's last success (unix seconds) and duration, as Go exports them. */
  attachBackup(status: { lastSuccess?: Date; lastDurationMs?: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'juicefs_last_successful_backup',
      help: 'Last successful backup.',
      registers,
      collect() {
        this.set(status.lastSuccess ? status.lastSuccess.getTime() / 1000 : 0);
      },
    });
    new Gauge({
      name: 'juicefs_last_backup_duration',
      help: 'Last backup duration.',
      registers,
      collect() {
        this.set((status.lastDurationMs ?? 0) / 1000);
      },
    });
  }

  /** Object store retries, failures and missing objects; the writeback backlog. */
  private attachFaults(sources: {
    objects?: () => ObjectRetryStats | undefined;
    staging?: () => StagingStats | undefined;
    meta?: () => MetaRetryStats | undefined;
    /** Transactions restarted after a conflict (Meta.txRestarts). */
    txRestarts?: () => number | undefined;
  }): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: () => number | undefined): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick() ?? 0);
        },
      });
    };
    gauge(
      'tjfs_meta_retries',
      'Metadata tries that met an unreachable or locked engine and were made again.',
      () => sources.meta?.()?.retries,
    );
    gauge(
      'juicefs_transaction_restart',
      'The number of times a transaction is restarted (conflicts with other clients).',
      () => sources.txRestarts?.(),
    );
    gauge(
      'tjfs_meta_failures',
      'Metadata operations that gave up on an unreachable or locked engine (EIO).',
      () => sources.meta?.()?.failures,
    );
    gauge(
      'tjfs_object_request_retries',
      'Object store requests that failed and were tried again.',
      () => sources.objects?.()?.retries,
    );
    gauge(
      'juicefs_object_request_errors',
      'Object store requests that failed for good (after their retries).',
      () => sources.objects?.()?.failures,
    );
    gauge(
      'tjfs_object_missing',
      'Reads of objects the store does not have (EIO).',
      () => sources.objects?.()?.missing,
    );
    gauge(
      'juicefs_staging_blocks',
      'Blocks staged by --writeback and not yet uploaded.',
      () => sources.staging?.()?.blocks,
    );
    gauge(
      'juicefs_staging_block_bytes',
      'Bytes of the blocks staged by --writeback and not yet uploaded.',
      () => sources.staging?.()?.bytes,
    );
    gauge(
      'tjfs_staging_upload_failures',
      'Failed uploads of staged blocks (each is retried).',
      () => sources.staging?.()?.failures,
    );
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
