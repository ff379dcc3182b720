/**
 * The functional half of `tjfs objbench` (JuiceFS cmd/objbench.go functionalTesting): one
 * case per object-store behaviour the chunk layer relies on, each giving `pass`, `not support`
 * or the first failure (cut to 45 characters, as JuiceFS prints it).
 *
 * Design: cases run against the store under the benchmark's private prefix, one at a time,
 * and delete what they wrote. The tjfs object contract (src/object/object-store.ts) has no
 * multipart upload and no chmod/chown/chtimes, so those rows say `not support` whatever the
 * backend, exactly as JuiceFS reports stores that lack them.
 * Invariants: a case never throws; every outcome becomes a row.
 */
import { randomBytes } from 'node:crypto';
import { isNotFound, listAll, type ObjectInfo, type ObjectStore } from '../../object/object-store.js';

export const PASS = 'pass';
export const NOT_SUPPORT = 'not support';

/** Thrown by a case for a behaviour the store does not have. */
class NotSupported extends Error {}

export interface FunctionalRow {
  category: 'basic' | 'sync';
  test: string;
  result: string;
}

const SYNC_TESTS = new Set(['special key', 'put a big object', 'put an empty object', 'multipart upload']);
const KEY = 'put_test_file';
const HELLO = Buffer.from('hello');

async function collect(
  store: ObjectStore,
  prefix: string,
  startAfter: string,
  limit: number,
): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of listAll(store, { prefix, ...(startAfter !== '' ? { startAfter } : {}) })) {
    if (out.length >= limit) break;
    out.push(o);
  }
  return out;
}

async function getText(store: ObjectStore, key: string, off?: number, len?: number): Promise<string> {
  const b = await store.get(key, off === undefined || len === undefined ? undefined : { off, len });
  return b.toString();
}

/** Puts `hello` under KEY, runs `fn`, deletes KEY. */
async function withHello(store: ObjectStore, fn: () => Promise<void>): Promise<void> {
  await store.put(KEY, HELLO).catch((e: unknown) => {
    throw new Error(`put object failed: ${msg(e)}`);
  });
  try {
    await fn();
  } finally {
    await store.delete(KEY).catch(() => undefined); // best-effort cleanup; the prefix is removed at the end
  }
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function expectText(what: string, want: string, got: string): void {
  if (got !== want)
    throw new Error(`failed to get ${what}: expect ${JSON.stringify(want)}, but got ${JSON.stringify(got)}`);
}

type Case = [string, (store: ObjectStore) => Promise<void>];

const CASES: Case[] = [
  [
    'create a bucket',
    async (s) => {
      // The contract has no bucket creation: the bucket must exist and accept a write.
      await s.put(KEY, Buffer.from('1')).catch((e: unknown) => {
        throw new Error(`can't write to the bucket: ${msg(e)}`);
      });
      await s.delete(KEY);
    },
  ],
  ['put an object', (s) => withHello(s, async () => undefined)],
  [
    'get an object',
    (s) =>
      withHello(s, async () => {
        expectText('an object', 'hello', await getText(s, KEY));
        expectText('an object', 'hello', await getText(s, KEY, 0, 5));
      }),
  ],
  [
    'get non-exist',
    async (s) => {
      try {
        await s.get('not_exists_file');
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`get of a missing object failed with ${msg(e)} instead of not-found`);
      }
      throw new Error('get not existed object should fail');
    },
  ],
  [
    'get partial object',
    (s) =>
      withHello(s, async () => {
        expectText('the first byte', 'h', await getText(s, KEY, 0, 1));
        expectText('the last byte', 'o', await getText(s, KEY, 4, 1));
        expectText('the last three bytes', 'llo', await getText(s, KEY, 2, 3));
        expectText('two bytes', 'll', await getText(s, KEY, 2, 2));
        expectText('object with the end out of range', 'o', await getText(s, KEY, 4, 2));
        expectText('object with the offset out of range', '', await getText(s, KEY, 6, 2));
      }),
  ],
  [
    'head an object',
    (s) =>
      withHello(s, async () => {
        const h = await s.head(KEY);
        if (h === undefined) throw new Error('failed to head object: not found');
        if (h.key !== KEY) throw new Error(`expected key '${KEY}' but got ${h.key}`);
        if (h.size !== 5) throw new Error(`expected size 5 but got ${h.size}`);
      }),
  ],
  [
    'delete an object',
    async (s) => {
      await s.put(KEY, HELLO);
      await s.delete(KEY);
      if ((await s.head(KEY)) !== undefined) throw new Error('the object is still there after delete');
      await s.delete(KEY).catch((e: unknown) => {
        throw new Error(`delete not existed: ${msg(e)}`);
      });
    },
  ],
  [
    'delete non-exist',
    async (s) => {
      await s.delete(KEY).catch((e: unknown) => {
        throw new Error(`deleting a non-existent object returns an error ${msg(e)}`);
      });
    },
  ],
  ['list objects', listCase],
  [
    'special key',
    async (s) => {
      const key = '测试编码文件{"name":"juicefs"}\u001f%uFF081%uFF09.jpg';
      try {
        await s.put(key, Buffer.from('1'));
        const got = await s.list({ prefix: '测试编码文件', limit: 1 });
        if (got.length !== 1 || got[0]?.key !== key)
          throw new Error(`list encode file failed: expect key ${key}, but got ${got[0]?.key ?? 'nothing'}`);
      } finally {
        await s.delete(key).catch(() => undefined); // cleanup
      }
    },
  ],
  [
    'put a big object',
    async (s) => {
      const block = randomBytes(4 << 20);
      const big = Buffer.concat(Array.from({ length: 64 }, () => block)); // 256 MiB, as JuiceFS
      try {
        await s.put(KEY, big);
        const h = await s.head(KEY);
        if (h?.size !== big.length)
          throw new Error(`expected size ${big.length} but got ${h?.size ?? 'none'}`);
      } finally {
        await s.delete(KEY).catch(() => undefined); // cleanup
      }
    },
  ],
  [
    'put an empty object',
    async (s) => {
      try {
        await s.put('empty_test_file', Buffer.alloc(0));
        if ((await s.get('empty_test_file')).length !== 0)
          throw new Error('empty object reads back non-empty');
        await s.put('slash_test_file/', Buffer.from('1')).catch((e: unknown) => {
          throw new Error(`put \`/\` suffixed object failed: ${msg(e)}`);
        });
      } finally {
        await s.delete('empty_test_file').catch(() => undefined); // cleanup
        await s.delete('slash_test_file/').catch(() => undefined); // cleanup
      }
    },
  ],
  [
    'multipart upload',
    async () => {
      throw new NotSupported();
    },
  ],
  ['change owner/group', notSupported],
  ['change permission', notSupported],
  ['change mtime', notSupported],
];

async function notSupported(): Promise<void> {
  throw new NotSupported();
}

async function listCase(s: ObjectStore): Promise<void> {
  await withHello(s, async () => {
    const objs = await collect(s, '', '', 1);
    if (objs.length !== 1) throw new Error(`list should return 1 keys, but got ${objs.length}`);
    const o = objs[0]!;
    if (o.key !== KEY) throw new Error(`first key should be ${KEY}, but got ${o.key}`);
    if (o.size !== 5) throw new Error(`size of first key should be 5, but got ${o.size}`);
    if (Math.abs(o.mtime - Date.now()) > 30_000)
      throw new Error(`mtime of key should be within 30 seconds, but got ${o.mtime - Date.now()} ms`);
    if ((await collect(s, '', 'test2', 1)).length !== 0)
      throw new Error('list after test2 should return nothing');
  });
  const keys = Array.from({ length: 100 }, (_, i) => `hashKey${i}`);
  try {
    for (const k of keys) await s.put(k, HELLO);
    const sorted = [...keys].sort();
    const got = await collect(s, 'hashKey', '', keys.length);
    if (got.length !== keys.length || got.some((o, i) => o.key !== sorted[i]))
      throw new Error('the result for list is incorrect');
  } finally {
    for (const k of keys) await s.delete(k).catch(() => undefined); // cleanup
  }
}

/** Runs every case in JuiceFS's order. */
export async function functionalTests(store: ObjectStore): Promise<FunctionalRow[]> {
  const rows: FunctionalRow[] = [];
  for (const [test, fn] of CASES) {
    let result = PASS;
    try {
      await fn(store);
    } catch (e) {
      result = e instanceof NotSupported ? NOT_SUPPORT : msg(e);
      if (result.length > 45) result = result.slice(0, 45) + '...';
    }
    const category = SYNC_TESTS.has(test) || test.startsWith('change') ? 'sync' : 'basic';
    rows.push({ category, test, result });
  }
  return rows;
}
