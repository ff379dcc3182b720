/**
 * The checkpoint worker: it moves committed WAL pages into the database file while the main
 * connection's own automatic checkpoint waits at its fallback threshold, it stops cleanly,
 * and a worker that cannot run gives the main connection its default checkpoint back.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FALLBACK_AUTOCHECKPOINT, SqliteCheckpointer } from './sqlite-checkpointer.js';

let dir: string;
let db: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tjfs-ckpt-'));
  db = new Database(join(dir, 'm.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeRows(n: number): void {
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  for (let i = 0; i < n; i++) db.transaction(() => ins.run(Buffer.alloc(3000, i)))();
}

const autocheckpoint = (): number => Number(db.pragma('wal_autocheckpoint', { simple: true }));
const dbBytes = (): number => statSync(join(dir, 'm.db')).size;

describe('SqliteCheckpointer', () => {
  it('checkpoints from its own thread while the main connection only appends', async () => {
    const c = new SqliteCheckpointer(db, join(dir, 'm.db'), () => undefined, 10);
    expect(autocheckpoint()).toBe(FALLBACK_AUTOCHECKPOINT);
    const before = dbBytes();
    writeRows(300); // ~300 pages: far below the fallback threshold
    for (let i = 0; i < 100 && dbBytes() < before + 300 * 3000; i++) await sleep(20);
    expect(dbBytes()).toBeGreaterThan(before + 300 * 3000); // the pages reached the database file
    await c.stop();
    expect(autocheckpoint()).toBe(1000);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 300 });
  });

  it('gives the main connection its checkpoint back when the worker cannot run', async () => {
    const failures: string[] = [];
    const c = new SqliteCheckpointer(db, join(dir, 'missing.db'), (m) => failures.push(m), 10);
    for (let i = 0; i < 100 && failures.length === 0; i++) await sleep(20);
    expect(failures[0]).toMatch(/unable to open|no such file|SQLITE_CANTOPEN/i);
    expect(autocheckpoint()).toBe(1000);
    await c.stop(); // already gone: returns at once
  });
});

describe('SqliteCheckpointer.checkpoint (fsync)', () => {
  it('runs a checkpoint in the worker on request and answers once it ran', async () => {
    const c = new SqliteCheckpointer(db, join(dir, 'm.db'), () => undefined, 60_000); // no periodic tick
    await sleep(100); // the worker has opened its connection
    const before = dbBytes();
    writeRows(50);
    expect(dbBytes()).toBe(before); // only in the WAL so far
    expect(await c.checkpoint()).toBe(true);
    expect(dbBytes()).toBeGreaterThan(before + 50 * 3000);
    await c.stop();
    expect(await c.checkpoint()).toBe(false); // gone: the caller checkpoints itself
  });
});
