/**
 * Supervisor: the process behind `tjfs mount -d` that owns the mount. It mounts when its
 * first worker asks (the worker knows the volume's name), keeps the /dev/fuse fd, and hands it
 * to each worker over a socketpair (SCM_RIGHTS). A worker that dies without saying it is
 * stopping (crash, OOM, kill -9) is replaced on the same fd: the new one gets the negotiated
 * INIT parameters, the metadata session and the open handles (HandleLedger) and asks the
 * kernel to resend what was in flight, so programs see a pause instead of ENOTCONN.
 *
 * Design: one worker at a time. Restarts wait 0, 0.2, 1, 2, 4 s after consecutive failed
 * starts (exit before 'ready'); after `maxFailedStarts` of them the supervisor logs why, lazily
 * unmounts and exits 1. SIGTERM/SIGINT go to the worker, which flushes, unmounts and exits;
 * its exit code becomes the supervisor's (non-zero when data could not be persisted). The
 * root-only watchdog (a shell waiting for EOF on a pipe from this process) still detaches the
 * mount if the supervisor itself dies; a worker exits when its IPC channel to it closes.
 * Invariants: the fd is closed only after the mount is gone or given up; a worker exit is
 * final once the worker said 'stopping' or a signal asked for the stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MNT_DETACH } from '../fuse/abi.js';
import {
  fuseConnection,
  openMountedDevice,
  startWatchdog,
  tuneConnection,
  type MountedDevice,
} from '../fuse/mount.js';
import { loadNative } from '../native/addon.js';
import { pidAlive } from '../util/pid-alive.js';
import type { Server } from 'node:net';
import { serveUpgrades, takeOver, upgradeSocketPath, type Handover } from './upgrade.js';
import {
  HandleLedger,
  isWorkerMessage,
  WORKER_ENV,
  type MountRequest,
  type SupervisorMessage,
  type WorkerMessage,
} from './protocol.js';

export interface SupervisorLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface SupervisorOptions {
  /** Worker command line: executable and arguments (the same mount command). */
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  /** Worker stdout/stderr (the log file). */
  outFd: number | 'ignore' | 'inherit';
  logger: SupervisorLogger;
  /** Told once: 'ready' when the first worker serves the mount, or why it failed. */
  onFirstResult?: (result: 'ready' | { error: string }) => void;
  /** Consecutive failed starts before giving up. Default 5. */
  maxFailedStarts?: number;
  /** Delay before restart number n (after n failed starts). */
  restartDelaysMs?: readonly number[];
  /** Where the write journal directory is made. Default the system temp dir. */
  journalParent?: string;
  /** Journal acknowledged, unflushed writes for the next worker (WriteJournal). Default true. */
  writeJournal?: boolean;
}

const DEFAULT_DELAYS = [0, 200, 1000, 2000, 4000];

export class Supervisor {
  private dev: MountedDevice | undefined;
  private readonly ledger = new HandleLedger();
  private worker: ChildProcess | undefined;
  private control = -1;
  private watchdog: ChildProcess | undefined;
  private stopping = false;
  private workerStopping = false;
  private everReady = false;
  private failedStarts = 0;
  private diedAt = 0;
  private firstReported = false;
  private finish!: (code: number) => void;
  readonly done: Promise<number>;
  /** Worker restarts so far, and ms from each death to the new worker's 'ready'. */
  readonly restarts: number[] = [];

  /** Writes acknowledged and not yet persisted by the worker (WriteJournal), per inode. */
  private journalDir: string;
  private handingOff = false;
  private takeoverFrom: string | undefined;
  private upgrades: Server | undefined;

  constructor(private readonly o: SupervisorOptions) {
    this.done = new Promise((res) => (this.finish = res));
    const parent = o.journalParent ?? tmpdir();
    sweepJournals(parent);
    this.journalDir = mkdtempSync(join(parent, `tjfs-journal-${process.pid}-`));
  }

  /** Starts the first worker; resolves with the exit code when the mount is over. */
  run(takeoverFrom?: string): Promise<number> {
    const stop = (): void => this.stop();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', stop);
    // A takeover happens when the new worker asks for the device, after it opened the
    // volume: the old worker is stopped only then, so programs wait as little as possible.
    this.takeoverFrom = takeoverFrom;
    if (takeoverFrom !== undefined) this.everReady = true;
    this.startWorker();
    return this.done.finally(() => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', stop);
    });
  }

  /** Orderly stop: the worker flushes, unmounts and exits; its code is ours. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.o.logger.info('supervisor: stopping the mount');
    if (this.worker !== undefined && this.worker.exitCode === null && this.worker.signalCode === null)
      this.worker.kill('SIGTERM');
    else void this.end(0);
  }

  private report(result: 'ready' | { error: string }): void {
    if (this.firstReported) return;
    this.firstReported = true;
    this.o.onFirstResult?.(result);
  }

  private startWorker(): void {
    const native = loadNative();
    const [mine, theirs] = native.socketpair();
    const stdio: ('ignore' | 'inherit' | 'ipc' | number)[] = [
      'ignore',
      this.o.outFd,
      this.o.outFd,
      'ipc',
      theirs,
    ];
    const child = spawn(this.o.command, [...this.o.args], {
      stdio,
      env: { ...this.o.env, [WORKER_ENV]: '1' },
    });
    closeSync(theirs);
    this.worker = child;
    this.control = mine;
    this.workerStopping = false;
    let ready = false;
    child.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.t === 'ready') ready = true;
      this.onMessage(child, mine, m);
    });
    child.on('error', (e) => this.o.logger.error('supervisor: cannot start a worker', { err: String(e) }));
    child.on('exit', (code, signal) => {
      closeSync(mine);
      if (this.worker === child) this.worker = undefined;
      void this.onExit(code, signal, ready);
    });
  }

  private onMessage(child: ChildProcess, control: number, m: WorkerMessage): void {
    switch (m.t) {
      case 'mount':
        void this.handOver(child, control, m.req);
        return;
      case 'ready':
        this.failedStarts = 0;
        if (this.everReady) {
          const ms = Date.now() - this.diedAt;
          this.restarts.push(ms);
          this.o.logger.info(
            `supervisor: worker ${child.pid} took over the mount ${ms} ms after the last one died`,
            { handles: this.ledger.size },
          );
        }
        this.everReady = true;
        this.report('ready');
        return;
      case 'stopping':
        this.workerStopping = true;
        return;
      case 'failed':
        if (!this.everReady) this.report({ error: m.message });
        return;
      default:
        this.ledger.apply(m);
    }
  }

  /** Mounts on the first request, then passes the fd (and the state to resume) to `child`. */
  private async handOver(child: ChildProcess, control: number, req: MountRequest): Promise<void> {
    const send = (msg: SupervisorMessage): void => void (child.connected && child.send(msg));
    try {
      if (this.dev === undefined && this.takeoverFrom !== undefined) {
        const from = this.takeoverFrom;
        this.takeoverFrom = undefined;
        this.adopt(from);
      } else if (this.dev === undefined) {
        mkdirQuiet(req.mountpoint);
        this.dev = await openMountedDevice(req);
        this.ledger.reset();
        if (!this.dev.viaFusermount && this.watchdog === undefined)
          this.watchdog = startWatchdog(this.dev.mountpoint);
        this.listenForUpgrade(this.dev.mountpoint);
        void tuneConnection(this.dev.mountpoint, req.readAheadKb);
      }
      const dev = this.dev;
      if (dev === undefined) throw new Error('no FUSE device to hand over');
      loadNative().sendFd(control, dev.fd);
      const resume = this.ledger.resumeState();
      const via = dev.viaFusermount;
      const journal = this.o.writeJournal === false ? '' : this.journalDir;
      send(
        resume === undefined
          ? { t: 'fd', viaFusermount: via, journal }
          : { t: 'fd', viaFusermount: via, journal, resume },
      );
    } catch (e) {
      this.o.logger.error(`supervisor: mount ${req.mountpoint} failed: ${(e as Error).message}`, {
        fsname: req.fsname,
        options: req.extraOptions.join(','),
      });
      send({ t: 'error', message: (e as Error).message });
    }
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null, ready: boolean): Promise<void> {
    const how = signal !== null ? `signal ${signal}` : `exit code ${code}`;
    if (this.handingOff) return;
    if (this.stopping || this.workerStopping) return this.end(code ?? 1);
    if (!this.everReady) {
      this.report({ error: `mount worker ended (${how}) before the mount was ready` });
      return this.end(code || 1);
    }
    if (this.dev === undefined || (await fuseConnection(this.dev.mountpoint).catch(() => -1)) < 0) {
      this.o.logger.info(`supervisor: worker ended (${how}) and the mount is gone`);
      return this.end(code ?? 1);
    }
    if (!ready) this.failedStarts++;
    else this.diedAt = Date.now();
    const max = this.o.maxFailedStarts ?? 5;
    if (this.failedStarts >= max) {
      this.o.logger.error(
        `supervisor: the mount worker failed to start ${this.failedStarts} times in a row (last: ${how}); giving up and unmounting ${this.dev.mountpoint}`,
      );
      return this.end(1);
    }
    if (this.ledger.caps === undefined) await this.remountNext();
    const delays = this.o.restartDelaysMs ?? DEFAULT_DELAYS;
    const wait = delays[Math.min(this.failedStarts, delays.length - 1)] ?? 0;
    this.o.logger.warn(`supervisor: mount worker died (${how}); starting a new one in ${wait} ms`, {
      handles: this.ledger.size,
    });
    setTimeout(() => (this.stopping ? void this.end(0) : this.startWorker()), wait);
  }

  /** No INIT was answered on this connection: the next worker mounts afresh. */
  private async remountNext(): Promise<void> {
    const dev = this.dev;
    this.dev = undefined;
    if (dev !== undefined) await detach(dev);
  }

  /** Takes over the mount of the supervisor at `path` (live upgrade); throws if it cannot. */
  private adopt(path: string): void {
    const { fd, handover } = takeOver(path);
    this.dev = { fd, mountpoint: handover.mountpoint, viaFusermount: handover.viaFusermount };
    if (handover.state !== undefined) this.ledger.load(handover.state);
    rmSync(this.journalDir, { recursive: true, force: true });
    this.journalDir = handover.journalDir;
    this.diedAt = Date.now();
    this.o.logger.info(`supervisor: took over ${handover.mountpoint} from the previous supervisor`, {
      handles: this.ledger.size,
    });
    if (!handover.viaFusermount) this.watchdog = startWatchdog(handover.mountpoint);
    this.listenForUpgrade(handover.mountpoint);
  }

  private listenForUpgrade(mountpoint: string): void {
    if (this.upgrades !== undefined) return;
    const prepare = async (): Promise<{ fd: number; handover: Handover }> => {
      const dev = this.dev;
      if (dev === undefined || this.stopping) throw new Error('not serving a mount');
      this.handingOff = true;
      this.o.logger.info(`supervisor: handing ${mountpoint} over to a new supervisor`);
      const w = this.worker;
      if (w !== undefined && w.exitCode === null && w.signalCode === null) {
        const gone = new Promise((res) => w.once('exit', res));
        w.kill('SIGKILL');
        await gone;
      }
      const handover: Handover = {
        mountpoint,
        viaFusermount: dev.viaFusermount,
        journalDir: this.journalDir,
        state: this.ledger.resumeState(),
      };
      return { fd: dev.fd, handover };
    };
    this.upgrades = serveUpgrades(upgradeSocketPath(mountpoint), prepare, (err) => {
      if (err !== undefined) {
        // Keep serving: a new worker on our fd, and wait for the next attempt.
        this.o.logger.error('supervisor: live upgrade failed; serving on', { err: String(err) });
        this.handingOff = false;
        this.upgrades = undefined;
        if (this.dev !== undefined && !this.stopping) {
          this.listenForUpgrade(mountpoint);
          if (this.worker === undefined) this.startWorker();
        }
        return;
      }
      // Our copy of the fd goes; the mount, the journal and the socket path are the new owner's.
      this.watchdog?.kill('SIGKILL');
      this.watchdog = undefined;
      if (this.dev !== undefined) closeSync(this.dev.fd);
      this.dev = undefined;
      this.finish(err === undefined ? 0 : 1);
    });
  }

  /** Unmounts if still mounted, closes the fd, stops the watchdog, resolves `done`. */
  private async end(code: number): Promise<void> {
    const dev = this.dev;
    this.dev = undefined;
    if (dev !== undefined) await detach(dev);
    this.watchdog?.kill('SIGKILL');
    this.watchdog = undefined;
    rmSync(this.journalDir, { recursive: true, force: true });
    if (this.upgrades !== undefined) {
      this.upgrades.close();
      if (dev !== undefined) rmSync(upgradeSocketPath(dev.mountpoint), { force: true });
    }
    this.finish(code);
  }
}

/** Lazily unmounts `dev` if it is still mounted, then closes its fd. */
async function detach(dev: MountedDevice): Promise<void> {
  if ((await fuseConnection(dev.mountpoint).catch(() => -1)) >= 0) {
    if (dev.viaFusermount) {
      await new Promise<void>((res) =>
        spawn('fusermount3', ['-u', '-z', dev.mountpoint], { stdio: 'ignore' })
          .on('close', () => res())
          .on('error', () => res()),
      );
    } else {
      try {
        loadNative().umount(dev.mountpoint, MNT_DETACH);
      } catch {
        // EINVAL: it was unmounted meanwhile, which is what we want.
      }
    }
  }
  closeSync(dev.fd);
}

/**
 * Removes journal directories of supervisors that are gone (killed: their mount was detached
 * by the watchdog, so nothing can replay them any more).
 */
function sweepJournals(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^tjfs-journal-(\d+)-/.exec(n)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !pidAlive(pid))
      rmSync(join(parent, n), { recursive: true, force: true });
  }
}

/** Creates the mount point; a failure (say, a dead mount there) is left to the mount to report. */
function mkdirQuiet(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    // openMountedDevice clears a stale mount or fails with the real cause.
  }
}
