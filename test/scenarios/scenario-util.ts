/**
 * Small helpers shared by the scenario definitions: errno assertions on Node-shaped errors,
 * deterministic pseudo-random bytes (no dependency on Math.random, so a failure replays),
 * and sha256 of buffers.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';

/** Awaits `p` and asserts it rejects with `err.code === code`. */
export async function expectCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    const got = (e as { code?: unknown }).code;
    assert.equal(got, code, `${what}: expected ${code}, got ${String(got)} (${(e as Error).message})`);
    return;
  }
  assert.fail(`${what}: expected ${code}, but it succeeded`);
}

/** xorshift32 bytes: same seed, same bytes. */
export function pseudoRandomBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < length; i++) out[i] = (x >>> ((i & 3) * 8)) & 0xff;
  return out;
}

export function sha256(...parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export const MiB = 1024 * 1024;

/** True when the scenario runs with root privileges (chown, setgid to other groups). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}
