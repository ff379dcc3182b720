/**
 * WAL checkpoints off the event loop for a busy SQLite engine.
 *
 * Why: with `synchronous = NORMAL` a commit only appends to the WAL, but every 1000 pages
 * SQLite's automatic checkpoint runs inside the committing call: it copies the pages into
 * the database file and fsyncs both files, blocking the event loop for milliseconds (a
 * create/unlink loop in process spent about a third of its wall time there). Here a
 * worker thread with its own connection to the same file runs PASSIVE checkpoints every
 * `intervalMs` (never waiting for readers or writers), and the main connection's own
 * automatic checkpoint is moved to a fallback threshold. SQLite coordinates the two
 * connections as it does two processes, so nothing about durability or visibility changes:
 * a checkpoint only moves committed pages from the WAL into the database file.
 * fsync(2) asks the worker for its checkpoint too (`checkpoint()`), so its disk wait is
 * not spent on the event loop.
 * Invariants: the worker never keeps the process alive (unref'd); if it fails or exits,
 * the main connection gets its default automatic checkpoint back, so the WAL stays
 * bounded either way; `stop()` waits for a checkpoint in progress to finish.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** The main connection's automatic checkpoint while the worker runs (pages; ~40 MB). */
export const FALLBACK_AUTOCHECKPOINT = 10_000;
/** SQLite's default, restored when the worker is gone. */
const DEFAULT_AUTOCHECKPOINT = 1000;

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
let db;
let stopping = false;
const fail = (e) => {
  stopping = true;
  parentPort.postMessage({ failed: String((e && e.code) || '') + ': ' + String((e && e.message) || e) });
  try { if (db) db.close(); } catch {}
  parentPort.close();
};
const tick = () => {
  if (stopping) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    if (!/busy|locked/i.test(String(e && e.code))) return fail(e);
  }
  setTimeout(tick, workerData.intervalMs);
};
try {
  const Database = require(workerData.module);
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  db.pragma('synchronous = NORMAL');
  setTimeout(tick, workerData.intervalMs);
} catch (e) {
  fail(e);
}
// A checkpoint asked for by fsync(2): answered once it ran (a busy database is tried again).
const syncNow = (id, tries) => {
  if (stopping) return parentPort.postMessage({ synced: id, ok: false });
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ synced: id, ok: true });
  } catch (e) {
    if (!/busy|locked/i.test(String(e && e.code)) || tries >= 50) return parentPort.postMessage({ synced: id, ok: false });
    setTimeout(() => syncNow(id, tries + 1), 2);
  }
};
parentPort.on('message', (m) => {
  if (m && typeof m.sync === 'number') return syncNow(m.sync, 0);
  if (m !== 'stop' || stopping) return;
  stopping = true;
  db.close();
  parentPort.close();
});
`;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private gone = false;
  private nextSync = 0;
  private readonly syncs = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly db: Database.Database,
    path: string,
    onFailure: (message: string) => void,
    intervalMs = 100,
  ) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, module, intervalMs } });
    this.worker.unref();
    db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT}`);
    this.exited = new Promise((resolve) => {
      this.worker.on('message', (m: { failed?: string; synced?: number; ok?: boolean }) => {
        if (m.failed !== undefined) {
          // The worker is closing: checkpoints run inline from now on, not from its exit.
          this.fallBack();
          onFailure(m.failed);
        }
        if (m.synced !== undefined) this.settleSync(m.synced, m.ok === true);
      });
      this.worker.once('error', (e: unknown) => {
        // Not from SQLite (those are posted above): the worker itself broke.
        onFailure(
          String(
            (e as { message?: unknown } | undefined)?.message ?? (e as { code?: unknown } | undefined)?.code,
          ),
        );
        this.fallBack();
        resolve();
      });
      this.worker.once('exit', () => {
        this.fallBack();
        resolve();
      });
    });
  }

  /**
   * A checkpoint now, in the worker (fsync's durability point: it syncs the WAL), so the
   * event loop does not wait for the disk. Resolves false when the worker could not run it
   * (gone, or the database stayed busy): the caller then checkpoints itself.
   */
  checkpoint(): Promise<boolean> {
    if (this.gone) return Promise.resolve(false);
    const id = this.nextSync++;
    return new Promise((resolve) => {
      this.syncs.set(id, resolve);
      this.worker.postMessage({ sync: id });
    });
  }

  private settleSync(id: number, ok: boolean): void {
    const done = this.syncs.get(id);
    this.syncs.delete(id);
    done?.(ok);
  }

  /** Stops the worker after its current checkpoint; the main connection checkpoints again. */
  async stop(): Promise<void> {
    if (!this.gone) this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
  }

  private fallBack(): void {
    if (this.gone) return;
    this.gone = true;
    for (const id of [...this.syncs.keys()]) this.settleSync(id, false);
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
    } catch {
      // closing: nothing left to checkpoint from here
    }
  }
}
