/**
 * SharedMounts: one FUSE mount per node per (meta URL, mount flags), shared by every
 * publish target that needs it and reference-counted by those targets.
 *
 * Design: a shared mount lives at `<mountBase>/<id>` and is served by a supervised
 * `tjfs mount` daemon (daemon-launcher.ts); targets are bind mounts of `<base>/<subPath>`.
 * Its record (meta URL, flags, pid, targets) is persisted by StateStore after every change,
 * so a restarted plugin re-attaches: `recover()` probes each base (mountinfo + stat with a
 * timeout) and, when the daemon is gone or the mount is broken (ENOTCONN...), lazily unmounts
 * it, starts a new daemon and re-binds every target (binds of a dead FUSE connection never
 * heal by themselves). Daemons started by this process are also watched for unexpected exits.
 * Invariants: operations on one shared mount are serialised by a per-id lock; a base is
 * stopped (SIGTERM → flush + unmount, then lazy unmount/SIGKILL fallback) exactly when its
 * last target is released.
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import { KeyedMutex } from '../util/mutex.js';
import { pidAlive } from '../util/pid-alive.js';
import { redactSecrets } from '../util/redact.js';
import { isOurDaemon, type DaemonLauncher } from './daemon-launcher.js';
import { mountAt } from './mount-info.js';
import type { Mounter } from './mounter.js';
import { sharedMountId } from './mount-options.js';
import type { SharedMountState, StateStore, TargetState } from './state-store.js';

export interface SharedMountsOptions {
  mountBase: string;
  store: StateStore;
  mounter: Mounter;
  launch: DaemonLauncher;
  logger: Logger;
  probeTimeoutMs?: number;
  /** How long a stopping daemon gets to unmount after SIGTERM. Default 10 s. */
  stopTimeoutMs?: number;
}

export interface MountHealth {
  ok: boolean;
  message: string;
}

const FUSE_TYPE = 'fuse.tjfs';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SharedMounts {
  private readonly locks = new KeyedMutex<string>();
  private closed = false;

  constructor(private readonly o: SharedMountsOptions) {}

  private get mounts(): Record<string, SharedMountState> {
    return this.o.store.current.mounts;
  }

  /** Runs `fn` with the lock of shared mount `id` held. */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  /** The shared mount and record of a publish target, if this plugin published it. */
  findTarget(target: string): { mount: SharedMountState; target: TargetState } | undefined {
    for (const m of Object.values(this.mounts)) {
      const t = m.targets[target];
      if (t) return { mount: m, target: t };
    }
    return undefined;
  }

  /** Health of a shared mount's base: mounted as fuse.tjfs and answering stat in time. */
  async baseHealth(m: SharedMountState): Promise<MountHealth> {
    const rec = mountAt(await this.o.mounter.mounts(), m.mountPoint);
    if (!rec || rec.fsType !== FUSE_TYPE)
      return { ok: false, message: `shared mount ${m.mountPoint} is not mounted` };
    const p = await this.o.mounter.probe(m.mountPoint, this.o.probeTimeoutMs);
    return p.ok
      ? { ok: true, message: 'ok' }
      : { ok: false, message: `shared mount ${m.mountPoint} is broken (${p.code ?? 'error'})` };
  }

  /** Health of a published target (its bind mount). */
  async targetHealth(target: string): Promise<MountHealth> {
    const rec = mountAt(await this.o.mounter.mounts(), target);
    if (!rec) return { ok: false, message: `${target} is not mounted` };
    const p = await this.o.mounter.probe(target, this.o.probeTimeoutMs);
    return p.ok
      ? { ok: true, message: 'ok' }
      : { ok: false, message: `volume mount at ${target} is broken (${p.code ?? 'error'})` };
  }

  /**
   * Makes sure the shared mount for (metaUrl, args) is up and records `target` as a user.
   * Returns the base mount point. The caller binds the target after this resolves.
   */
  async acquire(
    metaUrl: string,
    args: readonly string[],
    target: string,
    t: TargetState,
  ): Promise<SharedMountState> {
    const id = sharedMountId(metaUrl, args);
    return this.withLock(id, async () => {
      let m = this.mounts[id];
      if (!m) {
        m = { id, metaUrl, args: [...args], mountPoint: join(this.o.mountBase, id), pid: 0, targets: {} };
        this.mounts[id] = m;
      }
      try {
        await this.ensureMounted(m);
      } catch (e) {
        if (Object.keys(m.targets).length === 0) delete this.mounts[id];
        throw e;
      }
      m.targets[target] = t;
      await this.o.store.save();
      return m;
    });
  }

  /** Drops `target` from its shared mount; stops the mount if it was the last user. */
  async release(target: string): Promise<void> {
    const found = this.findTarget(target);
    if (!found) return;
    const { id } = found.mount;
    await this.withLock(id, async () => {
      const m = this.mounts[id];
      if (!m) return;
      delete m.targets[target];
      if (Object.keys(m.targets).length === 0) {
        await this.stop(m);
        delete this.mounts[id];
      }
      await this.o.store.save();
    });
  }

  /** Restart recovery and periodic healing: re-attach, remount broken bases, re-bind targets. */
  async recover(): Promise<void> {
    for (const id of Object.keys(this.mounts)) {
      if (this.closed) return;
      await this.heal(id).catch((e: unknown) =>
        this.o.logger.error('csi: recovering shared mount failed', { id, err: redactSecrets(String(e)) }),
      );
    }
  }

  /** Checks one shared mount and repairs it and its targets if needed. */
  heal(id: string): Promise<void> {
    return this.withLock(id, async () => {
      const m = this.mounts[id];
      if (!m || this.closed) return;
      if (Object.keys(m.targets).length === 0) {
        await this.stop(m);
        delete this.mounts[id];
        await this.o.store.save();
        return;
      }
      const remounted = await this.ensureMounted(m);
      for (const [path, t] of Object.entries(m.targets)) {
        const h = remounted ? { ok: false, message: 'remounted' } : await this.targetHealth(path);
        if (h.ok) continue;
        this.o.logger.warn('csi: re-binding target', { target: path, reason: h.message });
        await this.o.mounter.unmount(path);
        await mkdir(path, { recursive: true, mode: 0o750 });
        await this.o.mounter.bind(join(m.mountPoint, t.subPath), path, { readOnly: t.readOnly });
      }
      await this.o.store.save();
    });
  }

  /** Stops watching (daemons keep running: they outlive the plugin by design). */
  close(): void {
    this.closed = true;
  }

  /** Mounts the base if it is not healthy. Returns true when a new daemon was started. */
  private async ensureMounted(m: SharedMountState): Promise<boolean> {
    const h = await this.baseHealth(m);
    if (h.ok) return false;
    if (m.pid > 0)
      this.o.logger.warn('csi: shared mount unhealthy, remounting', { id: m.id, reason: h.message });
    await this.o.mounter.unmount(m.mountPoint);
    if (isOurDaemon(m.pid, m.mountPoint)) process.kill(m.pid, 'SIGKILL');
    await mkdir(m.mountPoint, { recursive: true, mode: 0o755 });
    const d = await this.o.launch({
      metaUrl: m.metaUrl,
      mountPoint: m.mountPoint,
      args: m.args,
      logFile: join(this.o.store.dir, 'logs', `${m.id}.log`),
    });
    m.pid = d.pid;
    this.o.logger.info?.('csi: shared mount started', { id: m.id, pid: d.pid, mountPoint: m.mountPoint });
    void d.exited.then(() => this.onDaemonExit(m.id, d.pid));
    return true;
  }

  private onDaemonExit(id: string, pid: number): void {
    const m = this.mounts[id];
    if (this.closed || !m || m.pid !== pid || Object.keys(m.targets).length === 0) return;
    this.o.logger.warn('csi: mount daemon exited unexpectedly; healing', { id, pid });
    setTimeout(() => {
      this.heal(id).catch((e: unknown) =>
        this.o.logger.error('csi: healing failed', { id, err: redactSecrets(String(e)) }),
      );
    }, 500).unref();
  }

  private async stop(m: SharedMountState): Promise<void> {
    const pid = m.pid;
    m.pid = 0;
    const ours = isOurDaemon(pid, m.mountPoint);
    if (ours) process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + (this.o.stopTimeoutMs ?? 10_000);
    while (
      Date.now() < deadline &&
      (mountAt(await this.o.mounter.mounts(), m.mountPoint) || (ours && pidAlive(pid)))
    )
      await sleep(100);
    await this.o.mounter.unmount(m.mountPoint);
    if (ours && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await rmdir(m.mountPoint).catch(() => undefined);
    this.o.logger.info?.('csi: shared mount stopped', { id: m.id });
  }
}
