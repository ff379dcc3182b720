/** Progress when piped (interim lines at most per interval, one final line), quiet, and on a TTY; JuiceFS's table/byte formats. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { createProgress, countingIterable } from './progress.js';
import { formatBytes, formatCsv, formatTable, iBytes } from './table.js';

function io(tty = false): {
  io: CliIo;
  err: () => string;
} {
  const stderr = new PassThrough();
  let e = '';
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  if (tty)
    Object.assign(stderr, {
      isTTY: true,
      columns: 100,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    });
  return { io: { stdout: new PassThrough(), stderr, env: {} }, err: () => e };
}

describe('progress', () => {
  it('piped: no line while the interval has not passed, one final summary line', () => {
    const c = io();
    const p = createProgress(c.io, 'gc', { intervalMs: 60_000 });
    const a = p.counter('Scanned files');
    const b = p.counter('Listed objects', 10);
    for (let i = 0; i < 100; i++) a.increment();
    b.increment(3, 2048);
    expect(c.err()).toBe('');
    p.done();
    p.done();
    expect(c.err()).toBe('gc: Scanned files: 100, Listed objects: 3/10 (2.0 KiB)\n');
  });

  it('piped with a zero interval: a line per change; quiet: nothing at all', () => {
    const c = io();
    const p = createProgress(c.io, 'rmr', { intervalMs: 0 });
    const n = p.counter('Removing entries');
    n.increment();
    n.increment();
    p.done();
    expect(c.err().split('\n').filter(Boolean)).toHaveLength(3);
    const q = io();
    const pq = createProgress(q.io, 'rmr', { quiet: true, intervalMs: 0 });
    pq.counter('x').increment();
    pq.done();
    expect(q.err()).toBe('');
  });

  it('a terminal gets bars, not summary lines', () => {
    const c = io(true);
    const p = createProgress(c.io, 'load');
    const n = p.counter('Loaded', 4);
    n.increment(4);
    p.done();
    expect(c.err()).toContain('Loaded');
    expect(c.err()).not.toContain('load: Loaded');
  });

  it('counting iterables count bytes', async () => {
    const c = io();
    const p = createProgress(c.io, 'load');
    const n = p.counter('Loaded');
    const got: string[] = [];
    for await (const x of countingIterable(
      (async function* () {
        yield 'ab';
        yield 'cde';
      })(),
      n,
    ))
      got.push(x);
    expect(got).toEqual(['ab', 'cde']);
    p.done();
    expect(c.err()).toBe('load: Loaded: 0 (5 B)\n');
  });
});

describe('JuiceFS output formats', () => {
  it('tables, bytes and CSV as JuiceFS prints them', () => {
    expect(
      formatTable(
        [
          ['PATH', 'SIZE'],
          ['/a/', '4.0 KiB'],
        ],
        0,
      ),
    ).toBe(
      '+------+---------+\n| PATH |   SIZE  |\n+------+---------+\n| /a/  | 4.0 KiB |\n+------+---------+\n',
    );
    expect(formatBytes(1000)).toBe('1000 Bytes');
    expect(formatBytes(5242880)).toBe('5.00 MiB (5242880 Bytes)');
    expect(iBytes(0)).toBe('0 B');
    expect(iBytes(4096)).toBe('4.0 KiB');
    expect(iBytes(5271552)).toBe('5.0 MiB');
    expect(iBytes(123 * 1024 * 1024)).toBe('123 MiB');
    expect(formatCsv([['a,b', 'c']])).toBe('"a,b",c\n');
  });
});
