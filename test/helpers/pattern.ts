/** Deterministic test bytes: byte i is (i * step + seed) mod 256. */
export function pattern(len: number, seed = 1, step = 31): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * step + seed) & 0xff;
  return b;
}
