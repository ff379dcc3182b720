/**
 * Client gauges that `tjfs stats` (and JuiceFS's `juicefs stats`) show and the core Observer
 * does not register: the write buffer in use, the block cache size, block cache hit/write
 * bytes, object data bytes and request latencies by method (the chunk store's store is a
 * TimedStore, src/object/timed.ts), and the Node.js heap (the "go" section's analogue).
 * Design: every value is read at collect time from counters the chunk store already keeps,
 * so nothing here sits on a data path. Names are JuiceFS's (pkg/chunk, pkg/vfs) where the
 * meaning is the same; the Node heap gauges are tjfs_node_* since Go's memstats have no
 * exact Node equivalent.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ChunkStore } from '../chunk/chunk-store.js';
import { TimedStore } from '../object/timed.js';

export function attachStatsMetrics(registry: Registry, chunks: ChunkStore): void {
  const registers = [registry];
  const gauge = (name: string, help: string, pick: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick());
      },
    });
  };
  gauge('juicefs_used_buffer_size_bytes', 'Size of the write buffers in use.', () => chunks.budget.inUse);
  gauge(
    'juicefs_store_cache_size_bytes',
    'Bytes held by the block cache.',
    () => chunks.cache?.usedBytes ?? 0,
  );
  gauge('juicefs_blockcache_hit_bytes', 'Bytes served by the block cache.', () => chunks.stats.cacheHitBytes);
  gauge(
    'juicefs_blockcache_write_bytes',
    'Bytes written into the block cache.',
    () => chunks.stats.cacheWriteBytes,
  );
  new Gauge({
    name: 'juicefs_object_request_data_bytes',
    help: 'Object store request bytes by method.',
    labelNames: ['method'],
    registers,
    collect() {
      this.set({ method: 'GET' }, chunks.stats.bytesDownloaded);
      this.set({ method: 'PUT' }, chunks.stats.bytesUploaded);
    },
  });
  if (chunks.store instanceof TimedStore) {
    const requests = new Histogram({
      name: 'juicefs_object_request_durations_histogram_seconds',
      help: 'Object requests latency distributions.',
      labelNames: ['method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    });
    chunks.store.onRequest = (method, secs) => requests.observe({ method }, secs);
  }
  gauge('tjfs_node_heap_used_bytes', 'V8 heap in use (the "alloc" of tjfs stats).', () => {
    return process.memoryUsage().heapUsed;
  });
  gauge(
    'tjfs_node_heap_total_bytes',
    'V8 heap reserved plus external memory (the "sys" of tjfs stats).',
    () => {
      const m = process.memoryUsage();
      return m.heapTotal + m.external;
    },
  );
}
