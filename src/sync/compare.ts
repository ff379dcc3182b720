/**
 * Byte comparison of two streams (JuiceFS compObjBinary for --check-all / --check-new).
 *
 * Design: both sides are re-cut into pieces of the same length with a small carry-over, so
 * streams that yield chunks of different sizes still compare piece by piece; memory is two
 * pieces. Stops reading at the first difference.
 */

class Cutter {
  private carry: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** The next `n` bytes, fewer only at the end. */
  async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [this.carry];
    let have = this.carry.length;
    while (have < n && !this.done) {
      const r = await this.it.next();
      if (r.done === true) this.done = true;
      else {
        parts.push(r.value);
        have += r.value.length;
      }
    }
    const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have);
    this.carry = all.subarray(Math.min(n, all.length));
    return all.subarray(0, Math.min(n, all.length));
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

export async function sameContent(
  a: AsyncIterable<Buffer>,
  b: AsyncIterable<Buffer>,
  piece: number,
): Promise<boolean> {
  const ca = new Cutter(a[Symbol.asyncIterator]());
  const cb = new Cutter(b[Symbol.asyncIterator]());
  try {
    for (;;) {
      const [x, y] = await Promise.all([ca.take(piece), cb.take(piece)]);
      if (!x.equals(y)) return false;
      if (x.length < piece) return true;
    }
  } finally {
    await Promise.all([ca.close(), cb.close()]);
  }
}
