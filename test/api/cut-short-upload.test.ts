/**
 * A cut-short upload commits nothing: a raw TCP client sends a WebHDFS CREATE or APPEND data
 * step with a Content-Length (or chunked encoding), writes half of the body and destroys the
 * socket. The old file must keep its bytes, no partial file may appear, no temporary file may
 * stay behind; a complete upload afterwards still works. The same for the API's write stream
 * destroyed before it ends.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolume, type Volume } from '../../src/api/volume.js';
import { raw, startGatewayFixture, type GatewayFixture } from './gateway-fixture.js';

let fx: GatewayFixture;
const V = '/webhdfs/v1';
const A = 'user.name=alice';

beforeAll(async () => {
  fx = await startGatewayFixture({ meta: 'mem', storage: 'mem' });
  await fx.fs.mkdirs('/up');
  await fx.fs.setPermission('/up', 0o777);
});
afterAll(async () => fx?.close());

async function put(path: string, data: Buffer, op = 'CREATE', method = 'PUT'): Promise<number> {
  const u = new URL(
    `${fx.gw.url}${V}${path}?op=${op}&data=true&${A}${op === 'CREATE' ? '&overwrite=true' : ''}`,
  );
  return (await raw(fx.gw.url, method, u.pathname + u.search, { body: data })).status;
}

/** Sends the headers and `sent` of `total` body bytes, then destroys the socket. */
async function cutShort(
  target: string,
  method: string,
  total: number,
  sent: number,
  chunked = false,
): Promise<void> {
  const u = new URL(fx.gw.url);
  const sock = connect(Number(u.port), u.hostname);
  await new Promise<void>((ok, fail) => sock.once('connect', ok).once('error', fail));
  sock.on('error', () => undefined);
  const len = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${total}`;
  sock.write(
    `${method} ${target} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/octet-stream\r\n${len}\r\n\r\n`,
  );
  const body = Buffer.alloc(sent, 0x78);
  sock.write(
    chunked ? Buffer.concat([Buffer.from(`${sent.toString(16)}\r\n`), body, Buffer.from('\r\n')]) : body,
  );
  await sleep(200); // let the gateway receive the first half
  sock.destroy();
  await sleep(300); // and notice the end of the connection
}

async function content(path: string): Promise<string> {
  const input = await fx.fs.open(path);
  try {
    const buf = Buffer.alloc(input.length);
    await input.readFully(0, buf);
    return buf.toString();
  } finally {
    await input.close();
  }
}

async function listing(): Promise<string[]> {
  return (await fx.fs.listStatus('/up')).map((s) => s.path.split('/').pop()!).sort();
}

describe('cut-short WebHDFS uploads commit nothing', () => {
  it('CREATE over an existing file: the old file stays, no partial file, no temporary file', async () => {
    expect(await put('/up/a.txt', Buffer.from('old content'))).toBe(201);
    await cutShort(`${V}/up/a.txt?op=CREATE&data=true&${A}&overwrite=true`, 'PUT', 2_000_000, 1_000_000);
    expect(await content('/up/a.txt')).toBe('old content');
    await cutShort(`${V}/up/new.txt?op=CREATE&data=true&${A}&overwrite=true`, 'PUT', 500_000, 10);
    await cutShort(`${V}/up/chunked.txt?op=CREATE&data=true&${A}&overwrite=true`, 'PUT', 0, 300_000, true);
    expect(await fx.fs.exists('/up/new.txt')).toBe(false);
    expect(await fx.fs.exists('/up/chunked.txt')).toBe(false);
    expect(await listing()).toEqual(['a.txt']);
    const failed = fx.log.filter((e) => e.path === '/up/a.txt' && e.error !== undefined);
    expect(failed.at(-1)?.error).toMatch(/cut short after 1000000 of 2000000 bytes/);
  });

  it('APPEND cut short adds nothing; a complete APPEND still appends', async () => {
    expect(await put('/up/log.txt', Buffer.from('line1\n'))).toBe(201);
    await cutShort(`${V}/up/log.txt?op=APPEND&data=true&${A}`, 'POST', 100_000, 50_000);
    expect(await content('/up/log.txt')).toBe('line1\n');
    expect(await put('/up/log.txt', Buffer.from('line2\n'), 'APPEND', 'POST')).toBe(200);
    expect(await content('/up/log.txt')).toBe('line1\nline2\n');
    expect(await listing()).toEqual(['a.txt', 'log.txt']);
  });

  it('a complete CREATE replaces the file', async () => {
    expect(await put('/up/a.txt', Buffer.from('new content'))).toBe(201);
    expect(await content('/up/a.txt')).toBe('new content');
  });
});

describe('the API write stream commits nothing when destroyed', () => {
  let vol: Volume;
  beforeAll(async () => {
    vol = await openVolume(fx.tv.metaUrl, { uid: 0, gid: 0 });
  });
  afterAll(async () => vol?.close());

  it('destroyed before end: the old file stays and no partial file appears', async () => {
    await vol.writeFile('/up/s.txt', 'old stream content');
    await vol.chmod('/up/s.txt', 0o640);
    await vol.chown('/up/s.txt', 1234, 5678);
    for (const path of ['/up/s.txt', '/up/s-new.txt']) {
      const w = vol.createWriteStream(path);
      w.on('error', () => undefined);
      await new Promise<void>((ok) => w.write(Buffer.alloc(300_000, 0x79), () => ok()));
      w.destroy(new Error('client went away'));
      await new Promise((ok) => w.once('close', ok));
    }
    expect((await vol.readFile('/up/s.txt')).toString()).toBe('old stream content');
    expect(
      await vol.access('/up/s-new.txt').then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    expect((await vol.readdir('/up')).filter((n) => String(n).startsWith('.'))).toEqual([]);
    const w = vol.createWriteStream('/up/s.txt');
    await new Promise<void>((ok, fail) => w.end('complete', () => ok()).once('error', fail));
    expect((await vol.readFile('/up/s.txt')).toString()).toBe('complete');
    const st = await vol.stat('/up/s.txt');
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, 1234, 5678]);
  });
});
