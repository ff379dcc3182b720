/**
 * `tjfs gateway webhdfs`: the command serves a formatted volume until stopped, refuses a
 * non-loopback address without a token, and parses --address.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAddress, runGateway, type GatewayFlags } from '../../src/cli/commands/gateway.js';
import { runFormat } from '../../src/cli/commands/format.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { freePort } from '../helpers/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'tjfs-gwcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIo & { text(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let buf = '';
  stdout.on('data', (d: Buffer) => (buf += d.toString()));
  stderr.on('data', (d: Buffer) => (buf += d.toString()));
  return { stdout, stderr, env: {}, cwd: dir, text: () => buf };
}

const flags = (address: string, extra: Partial<GatewayFlags> = {}): GatewayFlags => ({
  address,
  defaultUser: 'dr.who',
  unknownUser: 'reject',
  maxStreams: '8',
  cacheSize: '16',
  attrCache: '1',
  cacheDir: 'memory',
  ...extra,
});

describe('tjfs gateway webhdfs', () => {
  it('parses addresses', () => {
    expect(parseAddress('127.0.0.1:9870')).toEqual({ host: '127.0.0.1', port: 9870 });
    expect(parseAddress('[::1]:50070')).toEqual({ host: '::1', port: 50070 });
    expect(parseAddress(':9870')).toEqual({ host: '0.0.0.0', port: 9870 });
    expect(() => parseAddress('nohost')).toThrow(/address/);
  });

  it('serves a volume until stopped, with a users map', async () => {
    const meta = `sqlite3://${join(dir, 'gw.db')}`;
    const fio = io();
    expect(
      await runFormat(
        meta,
        'gwvol',
        { storage: 'file', bucket: join(dir, 'bucket'), blockSize: '4M', compress: 'none', trashDays: '0' },
        fio,
      ),
    ).toBe(0);
    writeFileSync(join(dir, 'users'), '# test users\ncarol:1234:1234\n');
    const port = await freePort();
    const stop = new AbortController();
    const gio = io();
    const running = runGateway(meta, flags(`127.0.0.1:${port}`, { usersMap: 'users' }), gio, stop.signal);
    let r: Response | undefined;
    for (let i = 0; i < 100 && !r; i++) {
      r = await fetch(`http://127.0.0.1:${port}/webhdfs/v1/?op=GETHOMEDIRECTORY&user.name=carol`).catch(
        async () => {
          await new Promise((res) => setTimeout(res, 50));
          return undefined;
        },
      );
    }
    expect(await r!.json()).toEqual({ Path: '/user/carol' });
    expect(gio.text()).toContain(`webhdfs://127.0.0.1:${port}`);
    stop.abort();
    expect(await running).toBe(0);
  });

  it('refuses 0.0.0.0 without a token and reports it as a CLI error', async () => {
    const meta = `sqlite3://${join(dir, 'gw.db')}`;
    const eio = io();
    const code = await main(
      ['gateway', 'webhdfs', meta, '--address', '0.0.0.0:0', '--cache-dir', 'memory'],
      eio,
    );
    expect(code).toBe(1);
    expect(eio.text()).toMatch(/token/);
  });
});
