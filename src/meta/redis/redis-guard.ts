/**
 * Redis outages and lost data, seen from the engine.
 *
 * - `classified(conn)`: a connection whose failures say whether anything was applied: a
 *   connection-level failure of a command becomes `MetaUnavailableError` (retryable; every
 *   command sent alone on a connection is a read or an idempotent write, or a counter
 *   increment whose double application only skips ids), an EXEC that failed after it was
 *   sent is ambiguous (never retried), and server replies stay as they are except the
 *   transient ones JuiceFS retries too (LOADING, READONLY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN).
 * - `VolumeGuard`: once the volume is known to exist, every connection (the shared one after
 *   each reconnect, each new transaction connection) first checks that the `setting` key is
 *   still there. A Redis that restarted empty fails that check: the engine then refuses
 *   every command with EIO and says so loudly; it never writes into the empty database.
 * - `GuardedConn`: the shared connection as the engine uses it: commands are sent only when
 *   the connection is ready and verified, and retried per the `MetaRetryPolicy`.
 * Invariants: no command is sent on a connection of a new epoch before the check passed.
 */
import { ReplyError } from 'ioredis';
import type { Logger } from '../../util/logger.js';
import { Errno, FsError } from '../../base/errno.js';
import { MetaUnavailableError, type MetaRetryPolicy } from '../retry-policy.js';
import type { Arg, RedisChain, RedisConn } from './redis-conn.js';

const TRANSIENT_REPLIES = new Set(['LOADING', 'READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN']);

/** ioredis types ReplyError as `any`; it is the class of every error reply from the server. */
const ReplyErrorClass = ReplyError as new (...args: unknown[]) => Error;

/** `e` as a retryable MetaUnavailableError when it is not an answer of the server. */
export function asUnavailable(e: unknown, what: string, ambiguous = false): unknown {
  if (e instanceof FsError || e instanceof MetaUnavailableError) return e;
  if (e instanceof ReplyErrorClass) {
    // The first word of a Redis error reply is its error code (RESP), not free text.
    const code = e.message.split(' ', 1)[0] ?? '';
    if (!TRANSIENT_REPLIES.has(code)) return e;
  }
  const why = e instanceof Error ? e.message : String(e);
  return new MetaUnavailableError(`${what}: ${why}`, ambiguous, { cause: e });
}

/** Redirections a transaction meets while its slot migrates (retried after a pause). */
const MIGRATING_REPLIES = new Set(['ASK', 'MOVED']);

/** An EXEC refused by the server: retryable when it (or a queued command) was transient. */
function refusedExec(e: Error, what: string): unknown {
  const errors = [e, ...((e as { previousErrors?: unknown[] }).previousErrors ?? [])];
  for (const err of errors) {
    const code = err instanceof Error ? (err.message.split(' ', 1)[0] ?? '') : '';
    if (TRANSIENT_REPLIES.has(code) || MIGRATING_REPLIES.has(code))
      return new MetaUnavailableError(`${what}: ${err instanceof Error ? err.message : ''}`, false, {
        cause: e,
      });
  }
  return e;
}

function notReady(conn: RedisConn, what: string): MetaUnavailableError {
  return new MetaUnavailableError(`${what}: connection ${conn.status}`, false);
}

/** Wraps a connection so that its failures are classified (see the header). */
export function classified(conn: RedisConn, what: string): RedisConn {
  const wrap = async <T>(p: () => Promise<T>): Promise<T> => {
    if (conn.status !== 'ready') throw notReady(conn, what);
    try {
      return await p();
    } catch (e) {
      throw asUnavailable(e, what);
    }
  };
  return {
    get status() {
      return conn.status;
    },
    call: (command, ...args) => wrap(() => conn.call(command, ...args)),
    callBuffer: (command, ...args) => wrap(() => conn.callBuffer(command, ...args)),
    multi: () => classifiedChain(conn, what),
    connect: () => conn.connect(),
    quit: () => conn.quit(),
    disconnect: () => conn.disconnect(),
  };
}

function classifiedChain(conn: RedisConn, what: string): RedisChain {
  const chain = conn.multi();
  const out: RedisChain = {
    call(command: string, ...args: Arg[]) {
      chain.call(command, ...args);
      return out;
    },
    async exec() {
      if (conn.status !== 'ready') throw notReady(conn, what); // not sent: safe to retry
      try {
        return await chain.exec();
      } catch (e) {
        // An error reply to a transaction (EXECABORT, or a queued command refused) means
        // the server answered and applied nothing: not ambiguous. A Redis Cluster slot
        // migration refuses multi-key commands with TRYAGAIN (or ASK) until it ends.
        if (e instanceof ReplyErrorClass) throw refusedExec(e, what);
        throw asUnavailable(e, what, true);
      }
    },
  };
  return out;
}

export class VolumeGuard {
  /** True once the volume is known to exist (loaded or formatted). */
  private armed = false;
  /** The volume's UUID, when known: a `setting` of another volume counts as lost data too. */
  private uuid: string | undefined;
  private lost: FsError | undefined;
  private logger: Logger | undefined;

  constructor(
    private readonly settingKey: string,
    private readonly displayUrl: string,
  ) {}

  useLogger(logger: Logger): void {
    this.logger = logger;
  }

  /** From now on a missing (or foreign) `setting` means lost data; `settingJson`: the volume's. */
  arm(settingJson?: string): void {
    this.armed = true;
    this.uuid = uuidOf(settingJson) ?? this.uuid;
  }

  disarm(): void {
    this.armed = false;
    this.lost = undefined;
  }

  /** The error every command gets once the data is gone. */
  get lostError(): FsError | undefined {
    return this.lost;
  }

  /** Checks a freshly (re)connected connection; throws the lost-data EIO when `setting` is gone. */
  async verify(conn: RedisConn): Promise<void> {
    if (!this.armed) return;
    let text: unknown;
    try {
      text = await conn.call('GET', this.settingKey);
    } catch (e) {
      throw asUnavailable(e, `redis ${this.displayUrl}`);
    }
    const found = typeof text === 'string' ? uuidOf(text) : undefined;
    if (typeof text === 'string' && (this.uuid === undefined || found === this.uuid)) {
      if (this.lost)
        this.logger?.warn(`metadata of ${this.displayUrl} is back (the 'setting' key exists again)`);
      this.lost = undefined;
      return;
    }
    const what = typeof text === 'string' ? `belongs to another volume (UUID ${found ?? '?'})` : 'is missing';
    this.lost ??= this.declareLost(what);
    throw this.lost;
  }

  private declareLost(what: string): FsError {
    const err = new FsError(Errno.EIO, {
      op: 'redis',
      message:
        `EIO: the metadata of this volume is gone from ${this.displayUrl}: its 'setting' key ${what} ` +
        `(did Redis restart without its data?). tjfs refuses every operation and writes nothing into it; ` +
        `restore the data and restart Redis, then remount`,
    });
    this.logger?.error(err.message);
    return err;
  }
}

function uuidOf(settingJson: string | undefined): string | undefined {
  if (settingJson === undefined) return undefined;
  try {
    const v = (JSON.parse(settingJson) as { UUID?: unknown }).UUID;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined; // not JSON: the format check reports it; only presence is checked then
  }
}

/**
 * The shared connection: each command waits until the connection is ready and verified for
 * its current epoch, then runs, retried per `policy` on connection-level failures.
 */
export class GuardedConn implements RedisConn {
  private verifiedEpoch = 0;
  private verifying: Promise<void> | undefined;
  /** Set by quit/disconnect: commands then fail at once instead of waiting for a reconnect. */
  private closed = false;

  constructor(
    private readonly raw: RedisConn,
    private readonly epoch: () => number,
    private readonly guard: VolumeGuard,
    private readonly policy: MetaRetryPolicy,
    private readonly what: string,
  ) {}

  get status(): string {
    return this.raw.status;
  }

  call(command: string, ...args: Arg[]): Promise<unknown> {
    return this.policy.run(command, this.what, () => this.once(() => this.raw.call(command, ...args)));
  }

  callBuffer(command: string, ...args: Arg[]): Promise<unknown> {
    return this.policy.run(command, this.what, () => this.once(() => this.raw.callBuffer(command, ...args)));
  }

  /** A MULTI/EXEC batch of idempotent writes: retried even when the EXEC was sent. */
  multi(): RedisChain {
    const cmds: Arg[][] = [];
    const out: RedisChain = {
      call(command: string, ...args: Arg[]) {
        cmds.push([command, ...args]);
        return out;
      },
      exec: () =>
        this.policy.run('MULTI', this.what, () =>
          this.once(async () => {
            const chain = this.raw.multi();
            for (const [c, ...a] of cmds) chain.call(String(c), ...a);
            return chain.exec();
          }),
        ),
    };
    return out;
  }

  connect(): Promise<void> {
    return this.raw.connect();
  }
  quit(): Promise<unknown> {
    this.closed = true;
    return this.raw.quit();
  }
  disconnect(): void {
    this.closed = true;
    this.raw.disconnect();
  }

  private async once<T>(send: () => Promise<T>): Promise<T> {
    if (this.closed) throw new FsError(Errno.EIO, { op: 'redis', message: `EIO: ${this.what} is closed` });
    if (this.raw.status !== 'ready') throw notReady(this.raw, this.what);
    const epoch = this.epoch();
    if (this.verifiedEpoch !== epoch) {
      this.verifying ??= this.guard.verify(this.raw).finally(() => (this.verifying = undefined));
      await this.verifying;
      this.verifiedEpoch = epoch;
    }
    const lost = this.guard.lostError;
    if (lost) throw lost;
    try {
      return await send();
    } catch (e) {
      throw asUnavailable(e, this.what);
    }
  }
}
