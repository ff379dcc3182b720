/** BusyKeys: a second operation on a busy key fails at once with ABORTED; other keys and later calls run. */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BusyKeys, CsiError } from './csi-error.js';

describe('BusyKeys', () => {
  it('aborts a concurrent call on the same key, runs other keys, and frees the key after a failure', async () => {
    const b = new BusyKeys();
    let release!: () => void;
    const first = b.run('/t', '/t', () => new Promise<string>((r) => (release = () => r('first'))));
    const second = await b.run('/t', '/t', async () => 'second').catch((e: unknown) => e);
    expect(second).toBeInstanceOf(CsiError);
    expect((second as CsiError).code).toBe(status.ABORTED);
    expect((second as CsiError).message).toBe('an operation on /t is already in progress');
    await expect(b.run('/u', 'volume u', async () => 'other')).resolves.toBe('other');
    release();
    await expect(first).resolves.toBe('first');
    await expect(b.run('/t', '/t', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(b.run('/t', '/t', async () => 'again')).resolves.toBe('again');
  });
});
