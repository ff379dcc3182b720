/**
 * Per-inode open-file state shared by every handle of that inode in this client: one
 * FileWriter (so writes through different handles are ordered and a later read sees them
 * after a flush) and one FileReader (readahead state, slice-view cache). Handles are
 * numbered; directory handles keep a snapshot of the listing for stable offsets.
 */
import { FileReader } from '../chunk/file-reader.js';
import { FileWriter } from '../chunk/file-writer.js';
export { flushSeq } from '../chunk/file-writer.js';
import { Mutex } from '../util/mutex.js';
import type { Compactor } from './compactor.js';
import type { Runtime } from './runtime.js';
import type { Attr, Entry, Ino } from '../meta/types.js';

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

  constructor(
    readonly ino: Ino,
    private readonly rt: Runtime,
    compactor?: Compactor,
  ) {
    this.reader = new FileReader(rt.chunks, {
      ino,
      getSlices: async (indx) => {
        const records = await rt.meta.readChunk(ino, indx);
        compactor?.consider(ino, indx, records);
        return records;
      },
    });
  }

  getWriter(): FileWriter {
    this.writer ??= new FileWriter(this.rt.chunks, {
      ino: this.ino,
      allocSliceId: () => this.rt.meta.newSliceId(),
      commit: async (indx, slice, mtime) => {
        await this.rt.meta.writeSlice(this.ino, indx, slice, mtime);
        this.reader.invalidate();
        this.known = undefined;
      },
    });
    return this.writer;
  }

  /**
   * Uploads and commits everything written so far, and waits for a flush that another
   * caller started (an fsync racing a close must not return before that commit).
   */
  async flush(): Promise<void> {
    if (this.writer !== undefined) {
      try {
        await this.writer.flush();
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

  constructor(
    private readonly rt: Runtime,
    private readonly compactor?: Compactor,
  ) {}

  add(h: Omit<Handle, 'fh'>): Handle {
    const handle: Handle = { ...h, fh: this.next++ };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  get(fh: bigint): Handle | undefined {
    return this.handles.get(fh);
  }

  remove(fh: bigint): Handle | undefined {
    const h = this.handles.get(fh);
    this.handles.delete(fh);
    return h;
  }

  openFile(ino: Ino): OpenFile {
    let f = this.files.get(ino);
    if (!f) this.files.set(ino, (f = new OpenFile(ino, this.rt, this.compactor)));
    f.refs++;
    return f;
  }

  /** Drops one reference; returns true when it was the last. */
  closeFile(f: OpenFile): boolean {
    f.refs--;
    if (f.refs > 0) return false;
    this.files.delete(f.ino);
    return true;
  }

  get size(): number {
    return this.handles.size;
  }

  all(): Handle[] {
    return [...this.handles.values()];
  }
}
