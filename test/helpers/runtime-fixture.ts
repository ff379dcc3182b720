/**
 * In-process volumes for VFS/API tests: a formatted mem:// (or given) metadata engine and
 * an in-memory object store (optionally wrapped, e.g. with faults), assembled by the same
 * openRuntime the mount uses.
 */
import { randomUUID } from 'node:crypto';
import { defaultFormat, type Format } from '../../src/meta/format.js';
import { openEngine } from '../../src/meta/registry.js';
import { initFormat } from '../../src/meta/volume.js';
import { MemObjectStore } from '../../src/object/mem/mem-store.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { PrefixedStore } from '../../src/object/prefixed.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../../src/vfs/runtime.js';

let seq = 0;

export interface TestVolume {
  url: string;
  raw: MemObjectStore;
  open(opts?: RuntimeOptions & { wrap?: (s: ObjectStore) => ObjectStore }): Promise<Runtime>;
}

export async function makeTestVolume(
  overrides: Partial<Format> = {},
  url = `mem://rt-${process.pid}-${seq++}`,
): Promise<TestVolume> {
  const format: Format = {
    ...defaultFormat('testvol', randomUUID(), 'mem'),
    Storage: 'mem',
    TrashDays: 0,
    ...overrides,
  };
  const engine = await openEngine(url);
  await initFormat(engine, format, { nowSec: Math.floor(Date.now() / 1000) });
  await engine.close();
  const raw = new MemObjectStore();
  return {
    url,
    raw,
    open: async (opts = {}) => {
      const base: ObjectStore = new PrefixedStore(raw, `${format.Name}/`);
      const { wrap, ...rest } = opts;
      return openRuntime(url, {
        cacheDir: 'memory',
        cacheSize: 0,
        heartbeat: false,
        ...rest,
        store: wrap ? wrap(base) : base,
      });
    },
  };
}
