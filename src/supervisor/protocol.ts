/**
 * Messages between a mount supervisor and its worker, and the state a supervisor keeps so a
 * new worker can take over the FUSE connection of a dead one.
 *
 * Design: the worker talks over Node's IPC channel (JSON, written synchronously to the pipe
 * when it has room, so a message sent before a reply is in the pipe before the kernel sees
 * the reply, and survives the worker's death); the /dev/fuse fd travels over a separate unix
 * socketpair (SCM_RIGHTS). Inode and handle numbers are decimal strings (JSON has no u64).
 * Invariants: the ledger holds every handle the kernel may still use, with numbers that never
 * repeat; `dirty` names inodes whose handles accepted writes a flush has not persisted yet.
 */
import type { Capabilities } from '../fuse/init.js';

export type HandleKindName = 'file' | 'dir' | 'virtual';

/** What the supervisor needs to mount (MountOptions without functions). */
export interface MountRequest {
  mountpoint: string;
  fsname: string;
  subtype: string;
  allowOther: boolean;
  readOnly: boolean;
  extraOptions: string[];
  readAheadKb: number;
}

export interface SavedHandle {
  fh: string;
  ino: string;
  kind: HandleKindName;
  flags: number;
}

/** Handed to a worker that takes over a live connection. */
export interface ResumeState {
  caps: Capabilities;
  /** Metadata session of the previous workers (locks, sustained inodes), 0 if none. */
  sid: number;
  handles: SavedHandle[];
  dirty: string[];
  /** Every handle number below this may be in use by the kernel. */
  nextFh: string;
}

export type WorkerMessage =
  | { t: 'mount'; req: MountRequest }
  | { t: 'init'; caps: Capabilities }
  | { t: 'session'; sid: number }
  | { t: 'open'; h: SavedHandle }
  | { t: 'close'; fh: string }
  | { t: 'dirty'; ino: string; on: boolean }
  | { t: 'ready' }
  | { t: 'stopping' }
  | { t: 'failed'; message: string };

/** `journal`: the write journal directory ('' when off). */
export type SupervisorMessage =
  | { t: 'fd'; viaFusermount: boolean; journal: string; resume?: ResumeState }
  | { t: 'error'; message: string };

/** Control socket of a worker: stdio slot 4 (3 is Node's IPC channel). */
export const CONTROL_FD = 4;
/** Environment marker of a supervised worker. */
export const WORKER_ENV = 'TJFS_WORKER';
/** Environment marker of the supervisor process itself. */
export const SUPERVISOR_ENV = 'TJFS_SUPERVISOR';

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'; // cast: shape check of an IPC message
}

/** The supervisor's record of a connection's state, fed by worker messages. */
export class HandleLedger {
  caps: Capabilities | undefined;
  sid = 0;
  private readonly handles = new Map<string, SavedHandle>();
  private readonly dirty = new Set<string>();
  private nextFh = 1n;

  apply(m: WorkerMessage): void {
    switch (m.t) {
      case 'init':
        this.caps = m.caps;
        return;
      case 'session':
        this.sid = m.sid;
        return;
      case 'open': {
        this.handles.set(m.h.fh, m.h);
        const fh = BigInt(m.h.fh);
        if (fh >= this.nextFh) this.nextFh = fh + 1n;
        return;
      }
      case 'close': {
        const h = this.handles.get(m.fh);
        this.handles.delete(m.fh);
        if (h !== undefined && !this.hasIno(h.ino)) this.dirty.delete(h.ino);
        return;
      }
      case 'dirty':
        if (m.on) this.dirty.add(m.ino);
        else this.dirty.delete(m.ino);
        return;
    }
  }

  private hasIno(ino: string): boolean {
    for (const h of this.handles.values()) if (h.ino === ino) return true;
    return false;
  }

  get size(): number {
    return this.handles.size;
  }

  /** The state handed over by a previous supervisor (live upgrade). */
  load(st: ResumeState): void {
    this.caps = st.caps;
    this.sid = st.sid;
    for (const h of st.handles) this.handles.set(h.fh, h);
    for (const ino of st.dirty) this.dirty.add(ino);
    this.nextFh = BigInt(st.nextFh);
  }

  /** The connection was mounted again from scratch: nothing of the old one applies. */
  reset(): void {
    this.caps = undefined;
    this.handles.clear();
    this.dirty.clear();
  }

  /** State for the next worker, or undefined when no INIT was answered yet. */
  resumeState(): ResumeState | undefined {
    if (this.caps === undefined) return undefined;
    return {
      caps: this.caps,
      sid: this.sid,
      handles: [...this.handles.values()],
      dirty: [...this.dirty],
      nextFh: String(this.nextFh),
    };
  }
}
