/**
 * Narrowing of raw RESP2 replies (from `callBuffer`/`call`) into typed values.
 * Design: replies arrive as `unknown`; these helpers check shapes instead of casting.
 * Invariants: nil becomes undefined; integers may arrive as number, string or Buffer.
 */
import { FsError, Errno } from '../../base/errno.js';

export function asBuffer(v: unknown): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v);
  if (typeof v === 'number') return Buffer.from(String(v));
  throw new FsError(Errno.EIO, { message: `EIO: unexpected redis reply ${typeof v}` });
}

export function asString(v: unknown): string | undefined {
  return asBuffer(v)?.toString();
}

/** An integer reply; nil reads as 0. A non-numeric value is EIO. */
export function asInt(v: unknown): number {
  if (typeof v === 'number') return v;
  const s = asString(v);
  if (s === undefined) return 0;
  const n = Number(s);
  if (!Number.isFinite(n))
    throw new FsError(Errno.EIO, { message: `EIO: redis value '${s.slice(0, 40)}' is not a number` });
  return n;
}

export function asArray(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  throw new FsError(Errno.EIO, { message: `EIO: expected a redis array reply, got ${typeof v}` });
}

/** A flat [k1, v1, k2, v2, ...] reply (HGETALL, HSCAN page, ZRANGE WITHSCORES) as pairs. */
export function pairs(v: unknown): [Buffer, Buffer][] {
  const a = asArray(v);
  const out: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < a.length; i += 2) {
    const k = asBuffer(a[i]);
    const val = asBuffer(a[i + 1]);
    if (k !== undefined && val !== undefined) out.push([k, val]);
  }
  return out;
}
