/**
 * The worker side of a supervised mount: asks the supervisor for the /dev/fuse fd (it mounts
 * on the first request), reports the negotiated INIT, the metadata session and every handle
 * change, and rebuilds the state of a dead predecessor before serving.
 *
 * Design: messages go over Node's IPC channel, the fd over the control socket (CONTROL_FD,
 * SCM_RIGHTS), read once the supervisor has said it was sent. Restoring reuses the previous
 * metadata session (its locks and sustained inodes stay valid) and re-creates each handle
 * under its old number; an open file that had unflushed writes when the predecessor died
 * fails its next flush, fsync and close with EIO — those bytes are gone, and saying so is
 * the only honest answer.
 * Invariants: the HandleObserver sends synchronously, before the reply that hands a handle
 * to the kernel; nothing here runs unless the process was started by a supervisor.
 */
import { closeSync } from 'node:fs';
import type { Capabilities } from '../fuse/init.js';
import {
  fuseConnection,
  serveFuse,
  type MountedDevice,
  type MountedFuseSession,
  type MountOptions,
} from '../fuse/mount.js';
import { loadNative } from '../native/addon.js';
import { Errno, FsError } from '../base/errno.js';
import type { Meta } from '../meta/meta.js';
import type { OpenFile } from '../vfs/open-files.js';
import type { Vfs } from '../vfs/vfs.js';
import { WriteJournal } from './write-journal.js';
import {
  CONTROL_FD,
  WORKER_ENV,
  type MountRequest,
  type ResumeState,
  type SupervisorMessage,
  type WorkerMessage,
} from './protocol.js';

export interface Takeover {
  dev: MountedDevice;
  /** Present when a previous worker served this connection. */
  resume: ResumeState | undefined;
  /** Write journal directory ('' when off). */
  journal: string;
}

export class WorkerLink {
  private constructor() {}

  /** The link when this process is a supervised worker, else undefined. */
  static fromEnv(env: Record<string, string | undefined>): WorkerLink | undefined {
    return env[WORKER_ENV] === '1' && process.send !== undefined ? new WorkerLink() : undefined;
  }

  private send(m: WorkerMessage): void {
    if (process.connected) process.send?.(m);
  }

  /** Gets the mounted device from the supervisor (which mounts on the first request). */
  async device(req: MountRequest): Promise<Takeover> {
    const reply = new Promise<SupervisorMessage>((resolve) => {
      const on = (m: unknown): void => {
        const t = (m as { t?: unknown } | null)?.t; // cast: shape check of an IPC message
        if (t !== 'fd' && t !== 'error') return;
        process.off('message', on);
        resolve(m as SupervisorMessage); // cast: checked above
      };
      process.on('message', on);
    });
    this.send({ t: 'mount', req });
    const m = await reply;
    if (m.t === 'error') {
      closeSync(CONTROL_FD);
      throw new Error(m.message);
    }
    const fd = loadNative().recvFd(CONTROL_FD);
    closeSync(CONTROL_FD);
    return {
      dev: { fd, mountpoint: req.mountpoint, viaFusermount: m.viaFusermount },
      resume: m.resume,
      journal: m.journal,
    };
  }

  /** Forwards every handle change of `vfs` to the supervisor from now on. */
  observe(vfs: Vfs): void {
    vfs.handles.observer = {
      opened: (h) =>
        this.send({ t: 'open', h: { fh: String(h.fh), ino: String(h.ino), kind: h.kind, flags: h.flags } }),
      closed: (fh) => this.send({ t: 'close', fh: String(fh) }),
      dirty: (ino, on) => this.send({ t: 'dirty', ino: String(ino), on }),
    };
  }

  init(caps: Capabilities): void {
    this.send({ t: 'init', caps });
  }

  session(sid: number): void {
    this.send({ t: 'session', sid });
  }

  ready(): void {
    this.send({ t: 'ready' });
  }

  /** From here on this worker's exit is final (unmounted, signalled, or failed). */
  stopping(): void {
    this.send({ t: 'stopping' });
  }

  failed(message: string): void {
    this.send({ t: 'failed', message });
  }
}

/**
 * Continues the metadata session `sid` of the previous workers instead of the one this
 * worker just registered, so their locks and sustained (deleted but open) inodes stay ours.
 */
export async function adoptSession(meta: Meta, sid: number, mountPoint: string): Promise<void> {
  await meta.adoptSession(sid, { MountPoint: mountPoint });
}

/**
 * The lock owners this session holds on the file (kept in the metadata engine), so that the
 * kernel's unlock on flush or release reaches the engine as it would have in the old worker.
 */
async function restoreLockOwners(vfs: Vfs, file: OpenFile): Promise<void> {
  const meta = vfs.rt.meta;
  const { flocks, plocks } = await meta.listLocks(file.ino);
  for (const o of flocks) if (o.sid === meta.sid) file.flockOwners.add(o.owner);
  for (const o of plocks) if (o.sid === meta.sid) file.lockOwners.add(o.owner);
}

/**
 * Re-creates the handles of the previous worker in `vfs` under their old numbers and replays
 * the writes it had acknowledged and not persisted (from `journal`). Without a journal, an
 * open file that had such writes fails its next flush, fsync and close with EIO.
 */
export async function restoreHandles(
  vfs: Vfs,
  st: ResumeState,
  journal: WriteJournal | undefined,
): Promise<{ handles: number; replayed: number }> {
  const dirty = new Set(st.dirty);
  let replayed = 0;
  for (const s of st.handles) {
    const fh = BigInt(s.fh);
    const ino = BigInt(s.ino);
    if (s.kind === 'file') {
      const first = !vfs.handles.files.has(ino);
      const file = vfs.handles.openFile(ino);
      vfs.rt.meta.adoptOpen(ino); // the sustained-inode rule counts it open
      if (first) await restoreLockOwners(vfs, file);
      if (first && journal !== undefined) {
        for (const r of journal.takeOver(ino)) {
          await file.getWriter().write(r.offset, r.data);
          replayed++;
        }
      } else if (first && dirty.has(s.ino)) {
        file.failed ??= new FsError(Errno.EIO, {
          op: 'flush',
          ino,
          message: 'EIO: flush: data written to this file was not persisted when the mount worker died',
        });
      }
      vfs.handles.restore({ fh, ino, kind: 'file', flags: s.flags, file });
    } else if (s.kind === 'dir') {
      vfs.handles.restore({ fh, ino, kind: 'dir', flags: s.flags });
    } else {
      // Virtual files (.stats, .config, .accesslog) read as ended after a restart.
      vfs.handles.restore({ fh, ino, kind: 'virtual', flags: s.flags, content: Buffer.alloc(0) });
    }
  }
  vfs.handles.reserve(BigInt(st.nextFh) - 1n);
  return { handles: st.handles.length, replayed };
}

/**
 * Serves the mount of a supervised worker: gets the device, takes over the state of a dead
 * predecessor if there was one (session, handles, INIT parameters; the kernel is asked to
 * resend what was in flight), and reports state changes from then on.
 */
export async function serveSupervised(
  link: WorkerLink,
  vfs: Vfs,
  o: MountOptions,
  log?: (msg: string) => void,
): Promise<MountedFuseSession> {
  const req: MountRequest = {
    mountpoint: o.mountpoint,
    fsname: o.fsname ?? 'tjfs',
    subtype: o.subtype ?? 'tjfs',
    allowOther: o.allowOther === true,
    readOnly: o.readOnly === true,
    extraOptions: [...(o.extraOptions ?? [])],
    readAheadKb: o.readAheadKb ?? 1024,
  };
  const { dev, resume, journal: dir } = await link.device(req);
  const journal = dir !== '' ? new WriteJournal(dir) : undefined;
  vfs.handles.journal = journal;
  try {
    if (resume !== undefined) {
      await adoptSession(vfs.rt.meta, resume.sid, dev.mountpoint);
      const r = await restoreHandles(vfs, resume, journal);
      log?.(`took over the mount: ${r.handles} open handle(s), ${r.replayed} unflushed write(s) replayed`);
    }
  } catch (e) {
    closeSync(dev.fd);
    throw e;
  }
  link.session(vfs.rt.meta.sid);
  link.observe(vfs);
  const session = await serveFuse(dev, {
    ...o,
    watchdog: false,
    ...(resume !== undefined ? { resume: resume.caps } : {}),
    onInit: (caps) => link.init(caps),
  });
  session.connection = await fuseConnection(dev.mountpoint).catch(() => -1);
  return session;
}
