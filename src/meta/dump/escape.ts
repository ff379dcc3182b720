/**
 * Name/value escaping of the JuiceFS JSON dump (docs/FORMAT.md §12.2): bytes that are not valid
 * UTF-8, code points <= 32, '%', '"' and '\' become %XX (upper-case hex); everything else
 * passes through. Unescaping reverses %XX only with two upper-case hex digits. Also Go's
 * encoding/json string form (HTML-safe escapes) so our JSON matches Go's byte for byte.
 */

const HEX = '0123456789ABCDEF';

/** Decodes one UTF-8 sequence with Go's rules; size 1 and rune -1 when invalid. */
function decodeRune(b: Buffer, i: number): { r: number; size: number } {
  const c0 = b[i]!;
  if (c0 < 0x80) return { r: c0, size: 1 };
  const need = c0 >= 0xf0 && c0 <= 0xf4 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc2 && c0 <= 0xdf ? 2 : 0;
  if (need === 0 || c0 > 0xf4 || i + need > b.length) return { r: -1, size: 1 };
  let r = need === 2 ? c0 & 0x1f : need === 3 ? c0 & 0x0f : c0 & 0x07;
  for (let k = 1; k < need; k++) {
    const c = b[i + k]!;
    if ((c & 0xc0) !== 0x80) return { r: -1, size: 1 };
    r = (r << 6) | (c & 0x3f);
  }
  const min = need === 2 ? 0x80 : need === 3 ? 0x800 : 0x10000;
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return { r: -1, size: 1 };
  return { r, size: need };
}

export function escapeBytes(b: Buffer): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const { r, size } = decodeRune(b, i);
    if (r < 0 || r <= 32 || r === 0x25 || r === 0x22 || r === 0x5c) {
      const c = b[i]!;
      out += '%' + HEX[c >> 4] + HEX[c & 15];
      i += 1;
      continue;
    }
    out += b.toString('utf8', i, i + size);
    i += size;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

export function unescapeToBytes(s: string): Buffer {
  const p = Buffer.from(s, 'utf8');
  if (!p.includes(0x25)) return p;
  const out = Buffer.alloc(p.length);
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    let c = p[i]!;
    if (c === 0x25 && i + 2 < p.length) {
      const h = hexVal(p[i + 1]!);
      const l = hexVal(p[i + 2]!);
      if (h >= 0 && l >= 0) {
        c = h * 16 + l;
        i += 2;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Go encoding/json string literal (escapes <, >, &, U+2028, U+2029). */
export function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

type GoValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | GoValue[]
  | Map<string, GoValue> // ordered object (integer-like keys keep their order)
  | { [k: string]: GoValue | undefined };

/** Compact Go-style JSON (json.Marshal) of plain values; undefined members are skipped. */
export function goCompact(v: GoValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map(goCompact).join(',') + ']';
  const parts: string[] = [];
  for (const [k, x] of v instanceof Map ? v : Object.entries(v))
    if (x !== undefined) parts.push(goString(k) + ':' + goCompact(x));
  return '{' + parts.join(',') + '}';
}

/** json.MarshalIndent(v, prefix, indent). */
export function goIndent(v: GoValue, indent: string, prefix = ''): string {
  if (v === null || typeof v !== 'object') return goCompact(v);
  const inner = prefix + indent;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[\n' + v.map((x) => inner + goIndent(x, indent, inner)).join(',\n') + '\n' + prefix + ']';
  }
  const entries = [...(v instanceof Map ? v : Object.entries(v))].filter(([, x]) => x !== undefined) as [
    string,
    GoValue,
  ][];
  if (entries.length === 0) return '{}';
  return (
    '{\n' +
    entries.map(([k, x]) => inner + goString(k) + ': ' + goIndent(x, indent, inner)).join(',\n') +
    '\n' +
    prefix +
    '}'
  );
}

export type { GoValue };
