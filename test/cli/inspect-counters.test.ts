/**
 * The counters `tjfs stats` shows in its blockcache, object and usage columns, as `.stats`
 * serves them (src/vfs/stats-metrics.ts over the chunk store): a write uploads its bytes
 * (object PUT bytes), a cold read downloads them and writes them into the disk cache, a warm
 * read is served from the cache (hit bytes) with no download; requests through a TimedStore
 * are counted in the request latency histogram by method.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskBlockCache } from '../../src/cache/disk-cache.js';
import { ChunkStore } from '../../src/chunk/chunk-store.js';
import { FileReader } from '../../src/chunk/file-reader.js';
import { FileWriter } from '../../src/chunk/file-writer.js';
import { MemObjectStore } from '../../src/object/mem/mem-store.js';
import { TimedStore } from '../../src/object/timed.js';
import { flattenStats } from '../../src/cli/stats-view.js';
import { attachStatsMetrics } from '../../src/vfs/stats-metrics.js';
import { pattern } from '../helpers/pattern.js';
import { SliceModel } from '../helpers/slice-model.js';

const KiB = 1024;
const UUID = '6f1e2a3b-0000-4000-8000-0000000000aa';

describe('stats counters of the chunk store', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts object bytes by method, cache write bytes on a cold read and hit bytes on a warm one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tjfs-inspect-counters-'));
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID });
    /** `.stats` of one chunk store, attached before its first request. */
    const observed = (cs: ChunkStore): (() => Promise<Map<string, number>>) => {
      const reg = new Registry();
      attachStatsMetrics(reg, cs);
      return async () => flattenStats(await reg.metrics());
    };

    const writer = new ChunkStore({ store: new TimedStore(mem), blockSize: 64 * KiB });
    const writerStats = observed(writer);
    const w = new FileWriter(writer, { allocSliceId: meta.allocSliceId, commit: meta.commit });
    await w.write(0, pattern(100 * KiB, 1, 7));
    await w.flush();
    const wrote = await writerStats();
    expect(wrote.get('juicefs_object_request_data_bytes_PUT')).toBe(100 * KiB);
    expect(wrote.get('juicefs_object_request_data_bytes_GET')).toBe(0);
    expect(wrote.get('juicefs_blockcache_write_bytes')).toBe(0); // no cache on the writer
    // Two 64 KiB blocks: two timed PUTs (JuiceFS's flattened histogram names).
    expect(wrote.get('juicefs_object_request_durations_histogram_seconds_PUT_total')).toBe(2);
    expect(wrote.get('juicefs_object_request_durations_histogram_seconds_PUT_sum')).toBeGreaterThan(0);

    const cold = new ChunkStore({ store: new TimedStore(mem), blockSize: 64 * KiB, cache });
    const coldStats = observed(cold);
    await new FileReader(cold, { getSlices: meta.getSlices }).read(0, 100 * KiB, meta.length);
    await cache.drain();
    const c = await coldStats();
    expect(c.get('juicefs_object_request_data_bytes_GET')).toBe(100 * KiB);
    expect(c.get('juicefs_blockcache_write_bytes')).toBe(100 * KiB);
    expect(c.get('juicefs_blockcache_hit_bytes')).toBe(0);
    expect(c.get('juicefs_object_request_durations_histogram_seconds_GET_total')).toBe(2);
    expect(c.get('juicefs_store_cache_size_bytes')).toBeGreaterThanOrEqual(100 * KiB);

    const warm = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    const warmStats = observed(warm);
    await new FileReader(warm, { getSlices: meta.getSlices }).read(0, 100 * KiB, meta.length);
    const h = await warmStats();
    expect(h.get('juicefs_object_request_data_bytes_GET')).toBe(0);
    expect(h.get('juicefs_blockcache_hit_bytes')).toBe(100 * KiB);
    expect(h.get('juicefs_used_buffer_size_bytes')).toBe(0);
    expect(h.get('tjfs_node_heap_used_bytes')).toBeGreaterThan(0);
    await cache.close();
  });
});
