/**
 * Command-line arguments: whole numbers are whole (`1.5` and `''` refused), sizes take
 * JuiceFS's units (MiB for cache and buffer sizes, GiB for capacities, K/M/G/T suffixes),
 * a bad value is one clear line naming the flag before anything is opened or created, mount
 * and gateway share one set of cache flags with JuiceFS's defaults, and every command's help
 * ends with an example.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHE_DEFAULTS, cacheRuntimeOptions } from '../../src/cli/cache-flags.js';
import { parseIntArg, parseSecondsArg, parseSize } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const dir = mkdtempSync(join(tmpdir(), 'tjfs-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseIntArg', () => {
  it('accepts whole numbers only', () => {
    expect(parseIntArg('0', '--n')).toBe(0);
    expect(parseIntArg(' 42 ', '--n')).toBe(42);
    for (const bad of ['1.5', '', ' ', '-1', '1e3', '0x10', 'ten', '9007199254740993'])
      expect(() => parseIntArg(bad, '--max-uploads'), bad).toThrow(
        `invalid --max-uploads '${bad}': want a whole number`,
      );
  });
});

describe('parseSize', () => {
  it('reads a plain number in the default unit and K/M/G/T suffixes as JuiceFS does', () => {
    expect(parseSize('300', 'M')).toBe(300 * MiB);
    expect(parseSize('100G', 'M')).toBe(100 * GiB);
    expect(parseSize('300M', 'M')).toBe(300 * MiB);
    expect(parseSize('1.5T', 'G')).toBe(1.5 * 1024 * GiB);
    expect(parseSize('2', 'G')).toBe(2 * GiB);
    expect(parseSize('512K', 'M')).toBe(512 * 1024);
    expect(parseSize('100GiB', 'M')).toBe(100 * GiB);
    expect(parseSize('0', 'M')).toBe(0);
  });

  it('refuses anything else, naming the flag and the default unit', () => {
    for (const bad of ['', '1.5.5', '-1G', '10X', 'G', '1e3', '9999999999P'])
      expect(() => parseSize(bad, 'M', '--cache-size'), bad).toThrow(
        new RegExp(
          `^invalid --cache-size '${bad.replace('.', '\\.')}': want a size such as 300M, 100G or 2T \\(a plain number is in MiB\\)$`,
        ),
      );
    expect(() => parseSize('lots', 'G', '--capacity')).toThrow(/plain number is in GiB/);
  });
});

describe('parseSecondsArg', () => {
  it('takes seconds with fractions, or JuiceFS-style 1.0s and 500ms', () => {
    expect(parseSecondsArg('1', '--attr-cache')).toBe(1);
    expect(parseSecondsArg('0.5', '--attr-cache')).toBe(0.5);
    expect(parseSecondsArg('1.0s', '--attr-cache')).toBe(1);
    expect(parseSecondsArg('500ms', '--attr-cache')).toBe(0.5);
    for (const bad of ['', '-1', 'soon', '1h'])
      expect(() => parseSecondsArg(bad, '--attr-cache'), bad).toThrow(`invalid --attr-cache '${bad}'`);
  });
});

describe('the shared cache flags', () => {
  it("have JuiceFS's defaults (100G cache, 300M buffer) and units", () => {
    const o = cacheRuntimeOptions({});
    expect(o).toMatchObject({
      cacheSize: 100 * GiB,
      bufferSize: 300 * MiB,
      freeSpaceRatio: 0.1,
      maxUploads: 20,
      ioRetries: 10,
      prefetch: 1,
      attrCache: 1,
    });
    expect(o.cacheChecksum).toBe('extend');
    expect(cacheRuntimeOptions({ cacheSize: '1024', maxReadahead: '64' })).toMatchObject({
      cacheSize: GiB,
      maxReadahead: 64 * MiB,
    });
    expect(() => cacheRuntimeOptions({ freeSpaceRatio: '1.5' })).toThrow(/--free-space-ratio '1\.5'/);
    expect(() => cacheRuntimeOptions({ verifyCacheChecksum: 'some' })).toThrow(
      /--verify-cache-checksum 'some'/,
    );
  });

  it('are the same flags with the same defaults on mount and gateway webhdfs', async () => {
    const help = async (argv: string[]): Promise<string> => {
      const h = captureIo();
      expect(await main(argv, h.io)).toBe(0);
      return h.out();
    };
    const mount = await help(['mount', '--help']);
    const gateway = await help(['gateway', 'webhdfs', '--help']);
    for (const flag of [
      '--cache-dir',
      '--cache-size',
      '--buffer-size',
      '--free-space-ratio',
      '--verify-cache-checksum',
      '--max-uploads',
      '--io-retries',
      '--prefetch',
      '--max-readahead',
      '--writeback',
      '--attr-cache',
    ]) {
      // The option's whole entry (its wrapped continuation lines too), whitespace collapsed:
      // the two commands pad and wrap their help columns differently.
      const line = (text: string): string | undefined => {
        const lines = text.split('\n');
        const i = lines.findIndex((l) => l.trimStart().startsWith(flag + ' '));
        if (i < 0) return undefined;
        let entry = lines[i] ?? '';
        for (let j = i + 1; j < lines.length && /^\s{6,}\S/.test(lines[j] ?? ''); j++)
          entry += ' ' + lines[j];
        return entry.replace(/\s+/g, ' ').trim();
      };
      expect(line(mount), flag).toBeDefined();
      expect(line(gateway), flag).toBe(line(mount));
    }
    expect(mount).toContain(`(default: "${CACHE_DEFAULTS.cacheSize}")`);
    expect(mount).toContain(`(default: "${CACHE_DEFAULTS.bufferSize}")`);
  });
});

describe('bad arguments give one clear line before anything is opened or created', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'mount --cache-size',
      ['mount', `sqlite3://${dir}/m.db`, join(dir, 'mp'), '--cache-size', '1.5.5'],
      /^tjfs: invalid --cache-size '1\.5\.5': want a size/,
    ],
    [
      'mount --max-uploads',
      ['mount', `sqlite3://${dir}/m.db`, join(dir, 'mp'), '--max-uploads', '1.5'],
      /^tjfs: invalid --max-uploads '1\.5': want a whole number/,
    ],
    [
      'mount --io-retries',
      ['mount', `sqlite3://${dir}/m.db`, join(dir, 'mp'), '--io-retries', ''],
      /^tjfs: invalid --io-retries '': want a whole number/,
    ],
    [
      'mount --entry-cache',
      ['mount', `sqlite3://${dir}/m.db`, join(dir, 'mp'), '--entry-cache', 'x'],
      /^tjfs: invalid --entry-cache 'x'/,
    ],
    [
      'gateway --buffer-size',
      ['gateway', 'webhdfs', `sqlite3://${dir}/g.db`, '--buffer-size', 'big'],
      /^tjfs: invalid --buffer-size 'big'/,
    ],
    [
      'format --trash-days',
      ['format', `sqlite3://${dir}/f.db`, 'vol', '--bucket', join(dir, 'b'), '--trash-days', '1.5'],
      /^tjfs: invalid --trash-days '1\.5'/,
    ],
    [
      'format --capacity',
      ['format', `sqlite3://${dir}/f.db`, 'vol', '--bucket', join(dir, 'b'), '--capacity', '2X'],
      /^tjfs: invalid --capacity '2X': .*plain number is in GiB/,
    ],
    ['bench --threads', ['bench', dir, '--threads', '2.5'], /^tjfs: invalid --threads '2\.5'/],
    [
      'csi --check-interval',
      ['csi', '--endpoint', `unix://${dir}/csi.sock`, '--check-interval', ''],
      /^tjfs: invalid --check-interval '': want seconds/,
    ],
  ];
  for (const [what, argv, want] of cases)
    it(what, async () => {
      const h = captureIo();
      expect(await main(argv, h.io)).toBe(1);
      expect(h.err().trim()).toMatch(want);
      expect(h.err().trim().split('\n')).toHaveLength(1);
      for (const made of ['m.db', 'mp', 'g.db', 'f.db', 'b'])
        expect(existsSync(join(dir, made)), made).toBe(false);
    });
});

describe('help', () => {
  const commands = [
    ['format'],
    ['mount'],
    ['umount'],
    ['status'],
    ['config'],
    ['quota'],
    ['fsck'],
    ['gc'],
    ['dump'],
    ['load'],
    ['gateway'],
    ['gateway', 'webhdfs'],
    ['csi'],
    ['bench'],
  ];
  for (const cmd of commands)
    it(`tjfs ${cmd.join(' ')} --help ends with an example`, async () => {
      const h = captureIo();
      expect(await main([...cmd, '--help'], h.io)).toBe(0);
      expect(h.out()).toMatch(new RegExp(`\\nExamples?:\\n {2}\\$ (\\S+=\\S+ )?tjfs ${cmd[0]} `));
    });
});
