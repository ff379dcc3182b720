/**
 * Per-inode open-file state shared by every handle of that inode in this client: one
 * FileWriter (so writes through different handles are ordered and a later read sees them
 * after a flush) and one FileReader (readahead state, slice-view cache). Handles are
 * numbered; directory handles keep a snapshot of the listing for stable offsets.
 *
 * Handle state for a worker restart (src/supervisor): an optional HandleObserver hears every
 * handle opened and released and every open file becoming dirty (written, not yet flushed)
 * or clean, synchronously, before the reply that hands the handle to the kernel; `restore`
 * rebuilds a handle under its old number in a new worker. An optional WriteJournal keeps
 * every acknowledged write until a flush persisted it (src/supervisor/write-journal.ts).
 */
import { FileReader } from '../chunk/file-reader.js';
import { FileWriter } from '../chunk/file-writer.js';
export { flushSeq } from '../chunk/file-writer.js';
import { Mutex } from '../util/mutex.js';
import type { Compactor } from './compactor.js';
import type { Runtime } from './runtime.js';
import type { Attr, Entry, Ino } from '../base/types.js';

/** Hears handle-state changes (a supervised worker forwards them to its supervisor). */
export interface HandleObserver {
  opened(h: Handle): void;
  closed(fh: bigint): void;
  /** An open file got writes that are not flushed yet (true), or all were flushed (false). */
  dirty(ino: Ino, dirty: boolean): void;
}

/** Where a supervised worker keeps acknowledged, unflushed writes (WriteJournal). */
export interface WriteJournalHook {
  readonly limitBytes: number;
  append(ino: Ino, offset: number, data: Buffer): void;
  size(ino: Ino): number;
  mark(ino: Ino): number;
  persisted(ino: Ino, mark: number): void;
  drop(ino: Ino): void;
}

/** Handle-state hooks an OpenFile consults (the HandleTable's fields). */
interface StateHooks {
  readonly observer: HandleObserver | undefined;
  readonly journal: WriteJournalHook | undefined;
}

export class OpenFile {
  refs = 0;
  writer: FileWriter | undefined;
  readonly reader: FileReader;
  /** POSIX lock owners that locked this inode through us (released on flush). */
  readonly lockOwners = new Set<bigint>();
  readonly flockOwners = new Set<bigint>();
  /** Serializes O_APPEND writes (offset choice + write) of this client. */
  readonly appendLock = new Mutex();
  /**
   * This client made sure the file has no setuid/setgid bit since it last changed the mode
   * (writes by callers without CAP_FSETID must clear them: HANDLE_KILLPRIV_V2).
   */
  suidgidClear = false;
  /** Last known committed length and when it was read (ms), for reads within the attr TTL. */
  known: { length: number; at: number } | undefined;
  /** Written since the last successful flush (reported to the HandleObserver). */
  private dirty = false;

  constructor(
    readonly ino: Ino,
    private readonly rt: Runtime,
    private readonly compactor?: Compactor,
    private readonly hooks?: StateHooks,
  ) {
    this.reader = new FileReader(rt.chunks, {
      ino,
      getSlices: async (indx) => {
        const records = await rt.meta.readChunk(ino, indx);
        this.compactor?.consider(ino, indx, records);
        return records;
      },
    });
  }

  /** The writer, for a write about to happen (marks the file dirty). */
  getWriter(): FileWriter {
    if (!this.dirty) {
      this.dirty = true;
      this.hooks?.observer?.dirty(this.ino, true);
    }
    this.writer ??= this.journaled(
      new FileWriter(this.rt.chunks, {
        ino: this.ino,
        allocSliceId: () => this.rt.meta.newSliceId(),
        commit: async (indx, slice, mtime) => {
          await this.rt.meta.writeSlice(this.ino, indx, slice, mtime);
          this.reader.invalidate();
          this.known = undefined;
          this.compactor?.noteCommit(this.ino, indx);
        },
      }),
    );
    return this.writer;
  }

  /** With a journal: each write is journaled before it is buffered (and acknowledged). */
  private journaled(w: FileWriter): FileWriter {
    const journal = this.hooks?.journal;
    if (journal === undefined) return w;
    const write = w.write.bind(w);
    w.write = async (offset: number, data: Buffer): Promise<void> => {
      // Bounded: a long stream without fsync is flushed every `limitBytes` (the error, if
      // any, stays in `failed` for the writer's next flush, fsync and close).
      if (journal.size(this.ino) >= journal.limitBytes) await this.flush().catch(() => undefined);
      journal.append(this.ino, offset, data);
      return write(offset, data);
    };
    return w;
  }

  /**
   * Uploads and commits everything written so far, and waits for a flush that another
   * caller started (an fsync racing a close must not return before that commit).
   */
  async flush(): Promise<void> {
    if (this.writer !== undefined) {
      const journal = this.hooks?.journal;
      const mark = journal?.mark(this.ino) ?? 0;
      try {
        await this.writer.flush();
        journal?.persisted(this.ino, mark);
        if (this.dirty && !this.writer.hasPending) {
          this.dirty = false;
          this.hooks?.observer?.dirty(this.ino, false);
        }
      } catch (e) {
        this.failed ??= e;
      } finally {
        if (this.reserved > 0) this.onSettled?.(this);
      }
    }
    // As Go's fileWriter: once data of this open file could not be persisted, every later
    // flush, fsync and close of it reports that, whoever triggered the failed flush (a
    // read flushes pending writes first, and its caller is not the writer).
    if (this.failed !== undefined) throw this.failed;
  }

  /** The first flush error of this open file; kept until its last handle is closed. */
  failed: unknown;
  /** Growth accepted by write() and not committed yet, in 4 KiB units (Vfs.reserveSpace). */
  reserved = 0;
  /** Directories with a quota above this file, read once per open file. */
  quotaDirs: Ino[] | undefined;
  /** Called after every flush, successful or not: the reservation is settled. */
  onSettled: ((f: OpenFile) => void) | undefined;

  pendingLength(): number {
    return this.writer?.pendingLength ?? 0;
  }

  /** See flushSeq: when this file's last flush completed, and the end it committed. */
  get flushedSeq(): number {
    return this.writer?.flushedSeq ?? 0;
  }
  get flushedEnd(): number {
    return this.writer?.flushedEnd ?? 0;
  }
}

export type HandleKind = 'file' | 'dir' | 'virtual';

export interface Handle {
  fh: bigint;
  ino: Ino;
  kind: HandleKind;
  flags: number;
  file?: OpenFile;
  /** Attributes at open time. */
  attr?: Attr;
  /** O_APPEND handles: the offset the last write landed at (chosen by the VFS). */
  appendedAt?: number;
  /** Directory snapshot (with '.' and '..' first), filled at offset 0. */
  entries?: Entry[];
  /** Virtual file content snapshot, or a live reader for .accesslog. */
  content?: Buffer;
  live?: { next(max: number, signal?: AbortSignal): Promise<Buffer>; close(): void };
}

export class HandleTable {
  private next = 1n;
  private readonly handles = new Map<bigint, Handle>();
  readonly files = new Map<Ino, OpenFile>();
  /** Set by a supervised worker; absent otherwise (no cost). */
  observer: HandleObserver | undefined;
  journal: WriteJournalHook | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly compactor?: Compactor,
  ) {}

  add(h: Omit<Handle, 'fh'>): Handle {
    const handle: Handle = { ...h, fh: this.next++ };
    this.handles.set(handle.fh, handle);
    this.observer?.opened(handle);
    return handle;
  }

  /** A handle of a previous worker under its old number; later numbers stay above it. */
  restore(h: Handle): Handle {
    this.handles.set(h.fh, h);
    if (h.fh >= this.next) this.next = h.fh + 1n;
    return h;
  }

  /** Handle numbers of a previous worker start above `fh` (it may have lost some). */
  reserve(fh: bigint): void {
    if (fh >= this.next) this.next = fh + 1n;
  }

  get(fh: bigint): Handle | undefined {
    return this.handles.get(fh);
  }

  remove(fh: bigint): Handle | undefined {
    const h = this.handles.get(fh);
    if (this.handles.delete(fh)) this.observer?.closed(fh);
    return h;
  }

  openFile(ino: Ino): OpenFile {
    let f = this.files.get(ino);
    if (!f) this.files.set(ino, (f = new OpenFile(ino, this.rt, this.compactor, this)));
    f.refs++;
    return f;
  }

  /** Drops one reference; returns true when it was the last. */
  closeFile(f: OpenFile): boolean {
    f.refs--;
    if (f.refs > 0) return false;
    this.files.delete(f.ino);
    this.journal?.drop(f.ino);
    return true;
  }

  get size(): number {
    return this.handles.size;
  }

  all(): Handle[] {
    return [...this.handles.values()];
  }
}
