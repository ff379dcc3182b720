/** redis-guard: which connection failures may be retried, and which may have been applied. */
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MetaUnavailableError } from '../retry-policy.js';
import type { Arg, RedisChain, RedisConn } from './redis-conn.js';
import { asUnavailable, classified } from './redis-guard.js';

/** A connection whose status and EXEC outcome the test sets. */
function fakeConn(state: {
  status: string;
  exec: () => Promise<[Error | null, unknown][] | null>;
}): RedisConn {
  const chain: RedisChain = {
    call: (_c: string, ..._a: Arg[]) => chain,
    exec: () => state.exec(),
  };
  return {
    get status() {
      return state.status;
    },
    call: () => Promise.reject(new Error('Connection is closed.')),
    callBuffer: () => Promise.resolve(null),
    multi: () => chain,
    connect: () => Promise.resolve(),
    quit: () => Promise.resolve('OK'),
    disconnect: () => undefined,
  };
}

// ioredis types ReplyError as `any`: it is constructed with the server's error text.
const reply = (text: string): Error => new (ReplyError as new (m: string) => Error)(text);

describe('redis-guard', () => {
  it('a command on a connection that is not ready is retryable and was not sent', async () => {
    const c = classified(fakeConn({ status: 'reconnecting', exec: () => Promise.resolve([]) }), 'x');
    await expect(c.call('GET', 'k')).rejects.toMatchObject({
      name: 'MetaUnavailableError',
      ambiguous: false,
    });
    await expect(c.multi().call('SET', 'k', 'v').exec()).rejects.toMatchObject({ ambiguous: false });
  });

  it('an EXEC that failed after it was sent is ambiguous', async () => {
    const c = classified(
      fakeConn({ status: 'ready', exec: () => Promise.reject(new Error('Connection is closed.')) }),
      'x',
    );
    await expect(c.multi().call('SET', 'k', 'v').exec()).rejects.toMatchObject({
      name: 'MetaUnavailableError',
      ambiguous: true,
    });
  });

  it('server replies stay errors, except the transient ones JuiceFS retries', () => {
    expect(asUnavailable(reply('WRONGTYPE Operation against a key'), 'x')).not.toBeInstanceOf(
      MetaUnavailableError,
    );
    expect(asUnavailable(reply('LOADING Redis is loading the dataset in memory'), 'x')).toBeInstanceOf(
      MetaUnavailableError,
    );
    expect(asUnavailable(reply("READONLY You can't write against a read only replica."), 'x')).toBeInstanceOf(
      MetaUnavailableError,
    );
    expect(
      asUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'x'),
    ).toBeInstanceOf(MetaUnavailableError);
  });
});
