/**
 * A small pull parser for large JSON documents read from a stream: objects are walked
 * member by member (so a dump's tree is never held whole), while leaf values are parsed
 * in one piece. Integers beyond 2^53 come back as bigint (trash inodes).
 */
import { FsError, Errno } from '../../base/errno.js';

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [k: string]: JsonValue };

function bad(msg: string): FsError {
  return new FsError(Errno.EINVAL, { message: `invalid dump JSON: ${msg}` });
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export class JsonReader {
  /** Unread input is buf[pos..]; buf is a view of the first bytes of `store`. */
  private store = Buffer.alloc(0);
  private buf = Buffer.alloc(0);
  private pos = 0;
  /** Bytes dropped from the front by the last fill (offsets into buf moved down by this). */
  private shifted = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer | string>;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /**
   * Appends the next read. Consumed bytes are dropped only once they are at least half of
   * the buffer, and the buffer grows by doubling, so a value spread over many reads costs
   * linear copying, not a copy of everything so far per read.
   */
  private async fill(): Promise<boolean> {
    this.shifted = 0;
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    let len = this.buf.length;
    if (this.pos > 0 && this.pos >= len / 2) {
      this.store.copy(this.store, 0, this.pos, len);
      len -= this.pos;
      this.shifted = this.pos;
      this.pos = 0;
    }
    if (len + chunk.length > this.store.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.store.length, len + chunk.length, 64 * 1024));
      this.store.copy(grown, 0, 0, len);
      this.store = grown;
    }
    chunk.copy(this.store, len);
    this.buf = this.store.subarray(0, len + chunk.length);
    return true;
  }

  /** Next non-whitespace byte without consuming it; -1 at end. */
  async peek(): Promise<number> {
    for (;;) {
      while (this.pos < this.buf.length && WS.has(this.buf[this.pos]!)) this.pos++;
      if (this.pos < this.buf.length) return this.buf[this.pos]!;
      if (!(await this.fill())) return -1;
    }
  }

  async expect(ch: string): Promise<void> {
    const c = await this.peek();
    if (c !== ch.charCodeAt(0))
      throw bad(
        `expected '${ch}' at byte ${this.pos}, found ${c < 0 ? 'end' : `'${String.fromCharCode(c)}'`}`,
      );
    this.pos++;
  }

  /** Iterates the member names of an object; the caller must consume each value. */
  async *members(): AsyncGenerator<string> {
    await this.expect('{');
    let first = true;
    for (;;) {
      const c = await this.peek();
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      if (!first) await this.expect(',');
      first = false;
      const key = await this.value();
      if (typeof key !== 'string') throw bad('object key is not a string');
      await this.expect(':');
      yield key;
    }
  }

  /** Reads one complete value. */
  async value(): Promise<JsonValue> {
    await this.peek();
    // The scan resumes where it stopped after each fill, so a value spread over many reads
    // is scanned once (not once per read).
    const scan: ScanState = { j: this.pos, depth: 0, inStr: false };
    let end: number;
    while ((end = scanEnd(this.buf, this.pos, scan)) < 0) {
      if (!(await this.fill())) throw bad('unexpected end of input');
      scan.j -= this.shifted; // fill() may have moved the unread bytes to the front
    }
    const text = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return new ValueParser(text).parse();
  }

  async skip(): Promise<void> {
    await this.value();
  }
}

/** Where a scan stopped: the next byte to look at, nesting depth, inside a string. */
interface ScanState {
  j: number;
  depth: number;
  inStr: boolean;
}

/** End offset of the value starting at `i`, or -1 if the buffer ends first (`st` saved). */
function scanEnd(b: Buffer, i: number, st: ScanState): number {
  if (i >= b.length) return -1;
  const c0 = b[i]!;
  if (c0 === 0x22 || c0 === 0x7b || c0 === 0x5b) {
    let { depth, inStr } = st;
    let j = st.j;
    for (; j < b.length; j++) {
      const c = b[j]!;
      if (inStr) {
        if (c === 0x5c) {
          if (j + 1 >= b.length) break; // resume at the backslash once more bytes arrive
          j++;
        } else if (c === 0x22) {
          inStr = false;
          if (depth === 0) return j + 1;
        }
      } else if (c === 0x22) inStr = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    Object.assign(st, { j, depth, inStr });
    return -1;
  }
  for (let j = i; j < b.length; j++) {
    const c = b[j]!;
    if (c === 0x2c || c === 0x7d || c === 0x5d || WS.has(c)) return j;
  }
  return -1;
}

class ValueParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): JsonValue {
    const v = this.val();
    this.ws();
    if (this.i !== this.s.length) throw bad(`trailing data in value`);
    return v;
  }
  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }
  private val(): JsonValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const o: { [k: string]: JsonValue } = {};
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return o;
      }
      for (;;) {
        this.ws();
        const k = this.val();
        if (typeof k !== 'string') throw bad('object key is not a string');
        this.ws();
        if (this.s[this.i++] !== ':') throw bad("expected ':'");
        o[k] = this.val();
        this.ws();
        const d = this.s[this.i++];
        if (d === '}') return o;
        if (d !== ',') throw bad("expected ',' or '}'");
      }
    }
    if (c === '[') {
      this.i++;
      const a: JsonValue[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return a;
      }
      for (;;) {
        a.push(this.val());
        this.ws();
        const d = this.s[this.i++];
        if (d === ']') return a;
        if (d !== ',') throw bad("expected ',' or ']'");
      }
    }
    if (c === '"') {
      let j = this.i + 1;
      while (j < this.s.length && this.s[j] !== '"') j += this.s[j] === '\\' ? 2 : 1;
      const lit = this.s.slice(this.i, j + 1);
      this.i = j + 1;
      return JSON.parse(lit) as string;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?|^true|^false|^null/.exec(this.s.slice(this.i, this.i + 40));
    if (!m) throw bad(`unexpected '${c ?? 'end'}'`);
    this.i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
}
