/**
 * Group commit in the SQLite backend: write transactions queued behind each other share one
 * COMMIT, each in its own savepoint; nobody hears back before that COMMIT, readers commit an
 * open group first, and a failed group COMMIT reruns every member alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlConn } from './sql-conn.js';
import { SqliteBackend } from './sqlite-engine.js';

let dir: string;
let dbs: Database.Database[];

function db(): Database.Database {
  const d = new Database(join(dir, 'g.db'));
  d.pragma('journal_mode = WAL');
  dbs.push(d);
  return d;
}

const keys = (d: Database.Database, table = 't'): number[] =>
  (d.prepare(`SELECT k FROM ${table} ORDER BY k`).all() as Array<{ k: number }>).map((r) => r.k);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tjfs-sqlite-group-'));
  dbs = [];
});

afterEach(() => {
  for (const d of dbs) d.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('queued writes share commits; a failing member rolls back only its own changes', async () => {
    const main = db();
    main.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const b = new SqliteBackend(main, { budgetMs: 60_000, maxAttempts: 5 });
    const other = db();
    const insert = (k: number) => (c: SqlConn) => c.exec('INSERT INTO t (k) VALUES (?)', [k]);
    const seenByOther: boolean[] = [];
    const runs = Array.from({ length: 10 }, (_, i) =>
      i === 5
        ? b.runTx(
            async (c) => {
              await c.exec('INSERT INTO t (k) VALUES (100)');
              await c.exec('INSERT INTO t (k) VALUES (1)'); // duplicate of member 1: fails
            },
            { op: 'dup', readonly: false },
          )
        : b.runTx(insert(i), { op: `w${i}`, readonly: false }).then((n) => {
            // Nobody hears back before the commit: another connection already sees the row.
            seenByOther.push(keys(other).includes(i));
            return n;
          }),
    );
    const out = await Promise.allSettled(runs);
    expect(out.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(String((out[5] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(keys(other)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
    expect(b.stats.commits).toBeLessThan(9);
    expect(b.stats.grouped).toBeGreaterThan(0);
    expect(seenByOther).toEqual(Array(9).fill(true));
  });

  it('a reader commits the open group before it reads', async () => {
    const main = db();
    main.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const b = new SqliteBackend(main, { budgetMs: 60_000, maxAttempts: 5 });
    const other = db();
    const writes = [1, 2, 3].map((k) =>
      b.runTx((c) => c.exec('INSERT INTO t (k) VALUES (?)', [k]), { op: 'w', readonly: false }),
    );
    const read = b.runTx(
      async (c) => ({ mine: (await c.query('SELECT k FROM t ORDER BY k')).length, other: keys(other) }),
      { op: 'r', readonly: true },
    );
    await Promise.all(writes);
    expect(await read).toEqual({ mine: 3, other: [1, 2, 3] });
    expect(main.inTransaction).toBe(false);
  });

  it('reruns every member alone when the group commit fails', async () => {
    const main = db();
    main.exec('PRAGMA foreign_keys = ON');
    main.exec('CREATE TABLE p (k INTEGER PRIMARY KEY)');
    main.exec(
      'CREATE TABLE c (k INTEGER PRIMARY KEY, p INTEGER REFERENCES p(k) DEFERRABLE INITIALLY DEFERRED)',
    );
    const b = new SqliteBackend(main, { budgetMs: 60_000, maxAttempts: 5 });
    const w = (sql: string) => b.runTx((c) => c.exec(sql), { op: sql, readonly: false });
    // The deferred foreign key only fails at COMMIT, so the shared commit fails as a whole.
    const out = await Promise.allSettled([
      w('INSERT INTO p (k) VALUES (1)'),
      w('INSERT INTO c (k, p) VALUES (1, 99)'),
      w('INSERT INTO c (k, p) VALUES (2, 1)'),
    ]);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((out[1] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    const other = db();
    expect(keys(other, 'p')).toEqual([1]);
    expect(keys(other, 'c')).toEqual([2]);
    expect(main.inTransaction).toBe(false);
  });

  it('a member that meets a lock conflict inside the group runs again alone', async () => {
    const main = db();
    main.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const b = new SqliteBackend(main, { budgetMs: 60_000, maxAttempts: 5 });
    let calls = 0;
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const runs = [
      b.runTx((c) => c.exec('INSERT INTO t (k) VALUES (1)'), { op: 'w1', readonly: false }),
      b.runTx(
        async (c) => {
          calls++;
          if (calls === 1) throw busy;
          return c.exec('INSERT INTO t (k) VALUES (2)');
        },
        { op: 'flaky', readonly: false },
      ),
      b.runTx((c) => c.exec('INSERT INTO t (k) VALUES (3)'), { op: 'w3', readonly: false }),
    ];
    expect(await Promise.all(runs)).toEqual([1, 1, 1]);
    expect(calls).toBe(2);
    expect(keys(db())).toEqual([1, 2, 3]);
    expect(b.stats.grouped).toBeGreaterThan(0);
  });

  it('a lone write runs as a plain transaction', async () => {
    const main = db();
    main.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const b = new SqliteBackend(main, { budgetMs: 60_000, maxAttempts: 5 });
    for (let k = 0; k < 3; k++)
      await b.runTx((c) => c.exec('INSERT INTO t (k) VALUES (?)', [k]), { op: 'w', readonly: false });
    expect(b.stats).toEqual({ commits: 3, grouped: 0 });
  });
});
