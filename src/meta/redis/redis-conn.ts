/**
 * Redis connections for the metadata engine: opening clients from a parsed URL, and a
 * bounded pool of dedicated connections for WATCH/MULTI/EXEC transactions.
 * Design: callers see a small structural `RedisConn` (satisfied by ioredis Redis and
 * Cluster) so the engine speaks raw commands and tests could pass fakes. The shared
 * connection reconnects for as long as the engine is open, but queues nothing and resends
 * nothing: a command issued while it is down fails at once and the engine's retry policy
 * decides (redis-guard.ts), so no command reaches a restarted server before the engine has
 * checked it. Dedicated transaction connections never reconnect, so a WATCH can never be
 * silently lost: a broken one is dropped from the pool.
 * Invariants: opening fails fast (connect timeout, no retry before the first success);
 * `close()` ends every connection so the process can exit.
 */
import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { FsError, Errno } from '../../base/errno.js';
import type { RedisTarget } from './redis-url.js';

export type Arg = string | Buffer | number;

export interface RedisChain {
  call(command: string, ...args: Arg[]): RedisChain;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** The subset of ioredis used by the engine. */
export interface RedisConn {
  readonly status: string;
  call(command: string, ...args: Arg[]): Promise<unknown>;
  callBuffer(command: string, ...args: Arg[]): Promise<unknown>;
  multi(): RedisChain;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface OpenedClient {
  conn: RedisConn;
  /** Opens another connection to the same server for the transaction pool. */
  openDedicated(): Promise<RedisConn>;
  /** Cluster only: the master nodes (for SCAN). */
  masters(): RedisConn[];
  /** Counts the shared connection's 'ready' events: a new value means a new server connection. */
  epoch(): number;
}

function connectError(target: RedisTarget, cause: unknown): FsError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new FsError(Errno.EIO, {
    op: 'connect',
    cause,
    message: `EIO: cannot connect to redis ${target.displayUrl}: ${why}`,
  });
}

/** Connects with an overall deadline; on failure the client is torn down. */
async function connectWithin(
  target: RedisTarget,
  conn: RedisConn,
  lastError: () => unknown,
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([conn.connect(), deadline]);
  } catch (e) {
    conn.disconnect();
    throw connectError(target, lastError() ?? e);
  } finally {
    clearTimeout(timer);
  }
}

/** ioredis wants a definite reply mapping under exactOptionalPropertyTypes. */
type Options = RedisOptions & { replyMapping: 'legacy' };

function baseOptions(target: RedisTarget, timeoutMs: number): Options {
  return {
    replyMapping: 'legacy',
    lazyConnect: true,
    connectTimeout: timeoutMs,
    protocol: 2, // RESP2: flat HGETALL/ZRANGE WITHSCORES replies, like Go's go-redis
    // A server that stops answering (stopped, hung, partitioned) fails the command after
    // this long, like JuiceFS's read-timeout; the retry policy takes it from there.
    commandTimeout: target.readTimeoutMs ?? 30_000,
    db: target.db,
    enableReadyCheck: true,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
    ...(target.path === undefined ? {} : { path: target.path }),
  };
}

/**
 * Options of the shared connection: reconnects (every 50 ms growing to 1 s) once it has
 * worked, none before; no offline queue and no resending, and commands in flight when the
 * connection drops fail at once (see the header).
 */
function sharedOptions(target: RedisTarget, timeoutMs: number, state: { ready: boolean }): Options {
  return {
    ...baseOptions(target, timeoutMs),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times: number) => (state.ready ? Math.min(times * 50, 1000) : null),
  };
}

/** Options of a dedicated transaction connection: never reconnects or resends. */
function dedicatedOptions(target: RedisTarget, timeoutMs: number): Options {
  return {
    ...baseOptions(target, timeoutMs),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
  };
}

/**
 * Commands sent in one turn of the event loop leave in one `writev`: the first one corks the
 * socket and the uncork is queued (process.nextTick) behind the caller's synchronous code.
 * A transaction's first reads (WATCH, GET, WATCH, HGET) were four writes, and on a VM each
 * write to a loopback socket costs the sender tens of microseconds (it runs the receiver's
 * network stack and wakes the server). Order is kept: it is one stream.
 */
export function coalesceWrites(r: Redis): Redis {
  const send = r.sendCommand.bind(r);
  let corked: Redis['stream'] | undefined;
  r.sendCommand = (command, stream) => {
    const s = r.stream as Redis['stream'] | undefined; // undefined until the first connect
    if (corked === undefined && s !== undefined && r.status === 'ready') {
      corked = s;
      s.cork();
      process.nextTick(() => {
        corked = undefined;
        s.uncork();
      });
    }
    return send(command, stream);
  };
  return r;
}

function newRedis(target: RedisTarget, options: Options): Redis {
  if (target.mode === 'sentinel' && target.masterName !== undefined) {
    return coalesceWrites(new Redis({ ...options, sentinels: target.hosts, name: target.masterName }));
  }
  const hp = target.hosts[0];
  return coalesceWrites(
    new Redis({
      ...options,
      ...(target.path === undefined && hp ? { host: hp.host, port: hp.port } : {}),
    }),
  );
}

function newCluster(target: RedisTarget, options: Options, state: { ready: boolean } | undefined): Cluster {
  // Cluster nodes take no SELECT, host or reconnect options of their own.
  const {
    db: _db,
    lazyConnect: _lazy,
    retryStrategy: _retry,
    enableOfflineQueue: _queue,
    path: _path,
    ...redisOptions
  } = options;
  const cluster = new Cluster(target.hosts, {
    lazyConnect: true,
    redisOptions,
    enableOfflineQueue: state !== undefined,
    clusterRetryStrategy: (times: number) => (state?.ready ? Math.min(times * 50, 1000) : null),
  });
  cluster.on('+node', (node: Redis) => coalesceWrites(node));
  return cluster;
}

/** Opens the shared connection (fails fast with a message naming the redacted URL). */
export async function openClient(target: RedisTarget, timeoutMs: number): Promise<OpenedClient> {
  const state = { ready: false };
  const shared = sharedOptions(target, timeoutMs, state);
  const client = target.mode === 'cluster' ? newCluster(target, shared, state) : newRedis(target, shared);
  let last: unknown;
  client.on('error', (e: unknown) => {
    last = e;
  });
  let epoch = 0;
  client.on('ready', () => epoch++);
  await connectWithin(target, client, () => last, timeoutMs);
  state.ready = true;
  const openDedicated = async (): Promise<RedisConn> => {
    const opts = dedicatedOptions(target, timeoutMs);
    const c = target.mode === 'cluster' ? newCluster(target, opts, undefined) : newRedis(target, opts);
    let lastErr: unknown;
    c.on('error', (e: unknown) => {
      lastErr = e;
    });
    await connectWithin(target, c, () => lastErr, timeoutMs);
    return c;
  };
  const masters = (): RedisConn[] => (client instanceof Cluster ? client.nodes('master') : [client]);
  return { conn: client, openDedicated, masters, epoch: () => epoch };
}

/** Waits for `p`, but not longer than a second. */
async function withinSecond(p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 1000);
  });
  try {
    await Promise.race([p, grace]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT with a short grace period, then a hard disconnect. */
export async function closeConn(conn: RedisConn): Promise<void> {
  try {
    if (conn.status === 'ready') await withinSecond(conn.quit().catch(() => undefined));
  } finally {
    conn.disconnect();
  }
}

/**
 * A bounded pool of dedicated connections. Waiters queue when all are busy; a connection
 * released as broken (or not ready) is closed and its slot freed.
 */
export class ConnPool {
  private readonly idle: RedisConn[] = [];
  private readonly all = new Set<RedisConn>();
  private readonly waiters: (() => void)[] = [];
  private opening = 0;
  private closed = false;

  constructor(
    private readonly open: () => Promise<RedisConn>,
    private readonly max = 8,
  ) {}

  async acquire(): Promise<RedisConn> {
    for (;;) {
      if (this.closed) throw new FsError(Errno.EIO, { op: 'txn', message: 'EIO: redis engine is closed' });
      const c = this.idle.pop();
      if (c) {
        if (c.status === 'ready') return c;
        this.drop(c);
        continue;
      }
      if (this.all.size + this.opening < this.max) return this.create();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(conn: RedisConn, broken: boolean): void {
    if (broken || this.closed || conn.status !== 'ready') this.drop(conn);
    else this.idle.push(conn);
    this.waiters.shift()?.();
  }

  /** Closes every connection; `farewell` runs on each ready one first (at most 1 s). */
  async close(farewell?: (conn: RedisConn) => Promise<unknown>): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    const conns = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(
      conns.map(async (c) => {
        if (farewell && c.status === 'ready') await withinSecond(farewell(c).catch(() => undefined));
        await closeConn(c);
      }),
    );
  }

  private async create(): Promise<RedisConn> {
    this.opening++;
    let c: RedisConn;
    try {
      c = await this.open();
    } catch (e) {
      this.waiters.shift()?.(); // the slot is free again
      throw e;
    } finally {
      this.opening--;
    }
    if (this.closed) {
      c.disconnect();
      throw new FsError(Errno.EIO, { op: 'txn', message: 'EIO: redis engine is closed' });
    }
    this.all.add(c);
    return c;
  }

  private drop(conn: RedisConn): void {
    this.all.delete(conn);
    conn.disconnect();
  }
}
