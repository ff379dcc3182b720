/**
 * WriteJournal: the writes a supervised worker has acknowledged and not yet persisted, kept in
 * files that outlive the worker, so the next worker replays them instead of losing them.
 *
 * Design: one append-only file per inode in a directory the supervisor owns (a worker dying
 * cannot take the page cache with it). `append` is one synchronous writev (16-byte header:
 * magic, length, offset; then the data) that runs before the write is acknowledged. A flush
 * takes a `mark` first; when it succeeds and nothing was appended since, the file is emptied.
 * A journal past `limitBytes` asks its open file to flush first (OpenFile does), so a long
 * stream without fsync keeps at most that much per file. Replays are idempotent rewrites of
 * the same bytes at the same offsets; a torn last record (the worker died inside writev) was
 * never acknowledged, and the kernel resends that WRITE.
 * Invariants: records of an inode are in acknowledgement order; a journal is removed when the
 * inode's last handle is closed.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import type { Ino } from '../base/types.js';

const MAGIC = 0x4a4a4654; // 'TFJJ'
const HEADER = 16;

export interface JournalRecord {
  offset: number;
  data: Buffer;
}

interface Open {
  fd: number;
  size: number;
}

export class WriteJournal {
  private readonly files = new Map<Ino, Open>();

  constructor(
    readonly dir: string,
    readonly limitBytes = 64 * 1024 * 1024,
  ) {}

  private open(ino: Ino): Open {
    let f = this.files.get(ino);
    if (f === undefined) {
      const fd = openSync(join(this.dir, String(ino)), 'a', 0o600); // unflushed file data: owner only
      f = { fd, size: 0 };
      ftruncateSync(fd, 0);
      this.files.set(ino, f);
    }
    return f;
  }

  /** Records a write about to be acknowledged. */
  append(ino: Ino, offset: number, data: Buffer): void {
    const f = this.open(ino);
    const h = Buffer.allocUnsafe(HEADER);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt32LE(data.length, 4);
    h.writeBigUInt64LE(BigInt(offset), 8);
    writevSync(f.fd, [h, data]);
    f.size += HEADER + data.length;
  }

  /** Bytes journaled for `ino` (compared with `limitBytes`). */
  size(ino: Ino): number {
    return this.files.get(ino)?.size ?? 0;
  }

  /** Position before a flush; pass it to `persisted` when the flush succeeded. */
  mark(ino: Ino): number {
    return this.size(ino);
  }

  /** Everything up to `mark` is persisted: empties the journal if nothing came after it. */
  persisted(ino: Ino, mark: number): void {
    const f = this.files.get(ino);
    if (f === undefined || f.size !== mark || mark === 0) return;
    ftruncateSync(f.fd, 0);
    f.size = 0;
  }

  /** The inode's last handle was closed: its journal is no longer needed. */
  drop(ino: Ino): void {
    const f = this.files.get(ino);
    if (f !== undefined) closeSync(f.fd);
    this.files.delete(ino);
    rmSync(join(this.dir, String(ino)), { force: true });
  }

  /**
   * Reads (and empties) the journal a previous worker left for `ino`; the caller writes the
   * records again, which journals them anew.
   */
  takeOver(ino: Ino): JournalRecord[] {
    let buf: Buffer;
    try {
      buf = readFileSync(join(this.dir, String(ino)));
    } catch {
      return [];
    }
    const out: JournalRecord[] = [];
    for (let p = 0; p + HEADER <= buf.length;) {
      if (buf.readUInt32LE(p) !== MAGIC) break;
      const len = buf.readUInt32LE(p + 4);
      if (p + HEADER + len > buf.length) break; // torn: never acknowledged
      out.push({
        offset: Number(buf.readBigUInt64LE(p + 8)),
        data: buf.subarray(p + HEADER, p + HEADER + len),
      });
      p += HEADER + len;
    }
    this.open(ino); // truncates it
    return out;
  }

  close(): void {
    for (const f of this.files.values()) closeSync(f.fd);
    this.files.clear();
  }
}
