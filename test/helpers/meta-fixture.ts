/**
 * Builds metadata clients for tests: a fresh formatted volume per case on the engine
 * under test, a manual clock, and helpers for contexts and names.
 */
import { randomUUID } from 'node:crypto';
import { BaseMeta } from '../../src/meta/base-meta.js';
import { ManualClock } from '../../src/meta/clock.js';
import type { MetaOptions } from '../../src/meta/core.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import { defaultFormat, type Format } from '../../src/meta/format.js';
import { openEngine } from '../../src/meta/registry.js';
import type { Context } from '../../src/base/types.js';
import { initFormat } from '../../src/meta/volume.js';

export interface EngineTarget {
  name: string;
  /** A URL for a fresh, empty database (called once per test). */
  freshUrl(): Promise<string>;
  /** Called after each test. */
  cleanup?(): Promise<void>;
}

export interface Volume {
  url: string;
  clock: ManualClock;
  format: Format;
  /** Opens another client (session) of the same volume. */
  client(opts?: MetaOptions): Promise<BaseMeta>;
  clients: BaseMeta[];
  engines: MetaEngine[];
  close(): Promise<void>;
}

/**
 * Formats an empty volume `name` (TrashDays 0, bucket /tmp/tjfs-{name}-bucket/) at `url`
 * and closes the engine again: for tests that open their own clients on it.
 */
export async function formatEmptyVolume(url: string, name: string): Promise<void> {
  const engine = await openEngine(url);
  try {
    await initFormat(
      engine,
      { ...defaultFormat(name, randomUUID(), `/tmp/tjfs-${name}-bucket/`), TrashDays: 0 },
      { nowSec: Math.floor(Date.now() / 1000) },
    );
  } finally {
    await engine.close();
  }
}

export async function makeVolume(
  target: EngineTarget,
  overrides: Partial<Format> = {},
  opts: MetaOptions = {},
): Promise<Volume> {
  const url = await target.freshUrl();
  const clock = new ManualClock();
  const engine = await openEngine(url);
  const format: Format = {
    ...defaultFormat('testvol', randomUUID(), '/tmp/tjfs-test-bucket/'),
    TrashDays: 0,
    ...overrides,
  };
  await initFormat(engine, format, { nowSec: clock.now().sec });
  const v: Volume = {
    url,
    clock,
    format,
    clients: [],
    engines: [engine],
    async client(extra: MetaOptions = {}) {
      const e = await openEngine(url);
      v.engines.push(e);
      const m = new BaseMeta(e, format, { clock, skipDirMtimeMs: 0, noBgDelete: false, ...opts, ...extra });
      await m.start({ MountPoint: '/test' });
      v.clients.push(m);
      return m;
    },
    async close() {
      for (const c of v.clients) await c.stop({ keepEngine: true }).catch(() => undefined);
      for (const e of v.engines) await e.close().catch(() => undefined);
    },
  };
  return v;
}

export const root: Context = { uid: 0, gid: 0, gids: [0], pid: 1 };
export const alice: Context = { uid: 1000, gid: 1000, gids: [1000], pid: 2 };
export const bob: Context = { uid: 1001, gid: 1001, gids: [1001, 2000], pid: 3 };

export const n = (s: string): Buffer => Buffer.from(s);
