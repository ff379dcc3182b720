/**
 * The WebHDFS gateway over raw HTTP: redirects, JSON shapes, RemoteException bodies and
 * status codes, HDFS rename/delete rules, identity, token, Expect: 100-continue, bad
 * input (400, never a crash), concurrency, paging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../src/gateway/hdfs-checksum.js';
import { raw, startGatewayFixture, type GatewayFixture } from './gateway-fixture.js';

let fx: GatewayFixture;
const V = '/webhdfs/v1';
const A = 'user.name=alice';
const call = (method: string, target: string, opts: Parameters<typeof raw>[3] = {}) =>
  raw(fx.gw.url, method, target, opts);

async function put(path: string, data: string | Buffer, extra = ''): Promise<void> {
  const nn = await call('PUT', `${V}${path}?op=CREATE&${A}&overwrite=true${extra}`);
  expect(nn.status).toBe(307);
  const loc = new URL(String(nn.headers.location));
  const dn = await call('PUT', loc.pathname + loc.search, {
    body: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expect(dn.status).toBe(201);
}

beforeAll(async () => {
  fx = await startGatewayFixture({ meta: 'mem', storage: 'mem' });
  await fx.fs.mkdirs('/user/alice');
  await fx.fs.setOwner('/user/alice', 'alice', 'alice');
  await fx.fs.mkdirs('/data');
  await fx.fs.setPermission('/data', 0o777);
});
afterAll(async () => fx?.close());

describe('WebHDFS gateway: reads and metadata', () => {
  it('GETFILESTATUS of the root and of a file', async () => {
    const r = await call('GET', `${V}/?op=GETFILESTATUS&${A}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const st = r.json()['FileStatus'] as Record<string, unknown>;
    expect(st).toMatchObject({
      pathSuffix: '',
      type: 'DIRECTORY',
      length: 0,
      blockSize: 0,
      replication: 0,
      owner: 'root',
      group: 'root',
    });
    await put('/data/hello.txt', 'hello world');
    const f = (await call('GET', `${V}/data/hello.txt?op=getfilestatus&${A}`)).json()['FileStatus'] as Record<
      string,
      unknown
    >;
    expect(f).toMatchObject({
      type: 'FILE',
      length: 11,
      owner: 'alice',
      group: 'alice',
      permission: '644',
      replication: 1,
      blockSize: 4 * 1024 * 1024,
    });
    expect(typeof f['fileId']).toBe('number');
    expect(Math.abs((f['modificationTime'] as number) - Date.now())).toBeLessThan(60_000);
  });

  it('CREATE redirects to itself with every parameter, data step answers 201', async () => {
    const nn = await call(
      'PUT',
      `${V}/data/two%20step+x.bin?op=CREATE&${A}&overwrite=false&permission=600&tempdir=%2Ftmp`,
    );
    expect(nn.status).toBe(307);
    const loc = String(nn.headers.location);
    expect(loc).toContain('op=CREATE');
    expect(loc).toContain('data=true');
    expect(loc).toContain('user.name=alice');
    expect(loc).toContain('tempdir=%2Ftmp');
    expect(loc.startsWith(fx.gw.url + '/webhdfs/v1/data/two%20step%2Bx.bin?')).toBe(true);
    const u = new URL(loc);
    const dn = await call('PUT', u.pathname + u.search, { body: Buffer.alloc(100_000, 7) });
    expect(dn.status).toBe(201);
    expect(dn.headers['content-length']).toBe('0');
    const st = await fx.fs.getFileStatus('/data/two step+x.bin');
    expect([st.length, st.permission, st.owner]).toEqual([100_000, 0o600, 'alice']);
    const again = await call('PUT', `${V}/data/two%20step+x.bin?op=CREATE&${A}`);
    expect(again.status).toBe(403);
    expect(again.json()).toEqual({
      RemoteException: {
        exception: 'FileAlreadyExistsException',
        javaClassName: 'org.apache.hadoop.fs.FileAlreadyExistsException',
        message: expect.any(String) as string,
      },
    });
    const nr = await call('PUT', `${V}/data/nr.bin?op=CREATE&${A}&noredirect=true`);
    expect(nr.status).toBe(200);
    expect(String(nr.json()['Location'])).toContain('data=true');
  });

  it('APPEND two steps; data visible to the next request', async () => {
    await put('/data/log', 'a');
    for (const part of ['b', 'cd', '']) {
      const nn = await call('POST', `${V}/data/log?op=APPEND&${A}`);
      expect(nn.status).toBe(307);
      const u = new URL(String(nn.headers.location));
      const dn = await call('POST', u.pathname + u.search, { body: part });
      expect(dn.status).toBe(200);
    }
    expect((await call('GET', `${V}/data/log?op=OPEN&${A}`)).text).toBe('abcd');
    const missing = await call('POST', `${V}/data/none?op=APPEND&${A}`);
    expect(missing.status).toBe(404);
  });

  it('OPEN with offset and length: clipped, exact Content-Length, errors', async () => {
    await put('/data/digits', '0123456789');
    const r = await call('GET', `${V}/data/digits?op=OPEN&${A}&offset=3&length=4`);
    expect([r.status, r.text, r.headers['content-length']]).toEqual([200, '3456', '4']);
    const big = await call('GET', `${V}/data/digits?op=OPEN&${A}&offset=8&length=9223372036854775807`);
    expect([big.status, big.text]).toEqual([200, '89']);
    const past = await call('GET', `${V}/data/digits?op=OPEN&${A}&offset=10`);
    expect(past.status).toBe(403);
    expect((past.json()['RemoteException'] as Record<string, unknown>)['exception']).toBe('IOException');
    const dir = await call('GET', `${V}/data?op=OPEN&${A}`);
    expect(dir.status).toBe(404);
    const large = Buffer.alloc(5 * 1024 * 1024 + 11);
    for (let i = 0; i < large.length; i++) large[i] = (i * 31) & 0xff;
    await put('/data/large', large);
    const all = await call('GET', `${V}/data/large?op=OPEN&${A}`);
    expect(all.body.equals(large)).toBe(true);
  });

  it('LISTSTATUS sorted with pathSuffix; a file lists itself; LISTSTATUS_BATCH pages', async () => {
    await fx.fs.mkdirs('/many');
    await fx.fs.setPermission('/many', 0o777);
    const names: string[] = [];
    for (let i = 0; i < 1205; i++) names.push(`n${String(i).padStart(5, '0')}`);
    for (const n of [...names].reverse()) await (await fx.fs.create(`/many/${n}`)).close();
    const ls = (await call('GET', `${V}/many?op=LISTSTATUS&${A}`)).json();
    const list = (ls['FileStatuses'] as { FileStatus: { pathSuffix: string }[] }).FileStatus;
    expect(list.map((s) => s.pathSuffix)).toEqual(names);
    const one = (await call('GET', `${V}/data/digits?op=LISTSTATUS&${A}`)).json();
    expect(
      (one['FileStatuses'] as { FileStatus: { pathSuffix: string; length: number }[] }).FileStatus,
    ).toMatchObject([{ pathSuffix: '', length: 10 }]);
    const seen: string[] = [];
    let after = '';
    for (let page = 0; page < 5; page++) {
      const r = (
        await call('GET', `${V}/many?op=LISTSTATUS_BATCH&${A}${after ? `&startAfter=${after}` : ''}`)
      ).json();
      const dl = r['DirectoryListing'] as {
        partialListing: { FileStatuses: { FileStatus: { pathSuffix: string }[] } };
        remainingEntries: number;
      };
      const got = dl.partialListing.FileStatuses.FileStatus.map((s) => s.pathSuffix);
      seen.push(...got);
      if (dl.remainingEntries === 0) break;
      expect(dl.remainingEntries).toBe(names.length - seen.length);
      after = got[got.length - 1]!;
    }
    expect(seen).toEqual(names);
    const empty = (await call('GET', `${V}/user/alice?op=LISTSTATUS&${A}`)).json();
    expect(empty).toEqual({ FileStatuses: { FileStatus: [] } });
  });

  it('GETCONTENTSUMMARY, GETHOMEDIRECTORY, GETSERVERDEFAULTS, GETFILEBLOCKLOCATIONS, GETSTATUS', async () => {
    await fx.fs.mkdirs('/cs/a/b');
    await (await fx.fs.create('/cs/a/f1')).close();
    const out = await fx.fs.create('/cs/a/b/f2');
    await out.write('12345');
    await out.close();
    const cs = (await call('GET', `${V}/cs?op=GETCONTENTSUMMARY&${A}`)).json()['ContentSummary'];
    expect(cs).toMatchObject({ directoryCount: 3, fileCount: 2, length: 5, quota: -1, spaceQuota: -1 });
    expect((await call('GET', `${V}?op=GETHOMEDIRECTORY&${A}`)).json()).toEqual({ Path: '/user/alice' });
    expect((await call('GET', `${V}/?op=GETSERVERDEFAULTS&${A}`)).json()['FsServerDefaults']).toMatchObject({
      trashInterval: 0,
      replication: 1,
    });
    const bl = (await call('GET', `${V}/data/large?op=GETFILEBLOCKLOCATIONS&${A}`)).json();
    expect((bl['BlockLocations'] as { BlockLocation: unknown[] }).BlockLocation).toHaveLength(2);
    expect((await call('GET', `${V}/?op=GETSTATUS&${A}`)).json()['FsStatus']).toMatchObject({
      capacity: expect.any(Number) as number,
    });
  });
});

describe('WebHDFS gateway: namespace changes', () => {
  it('MKDIRS, RENAME (boolean and renameoptions), DELETE rules', async () => {
    expect((await call('PUT', `${V}/data/r/a/b?op=MKDIRS&${A}`)).json()).toEqual({ boolean: true });
    expect((await call('PUT', `${V}/data/r/a/b?op=MKDIRS&${A}`)).json()).toEqual({ boolean: true });
    await put('/data/r/f1', '1');
    await put('/data/r/f2', '2');
    const mk = await call('PUT', `${V}/data/r/f1/sub?op=MKDIRS&${A}`);
    expect(mk.status).toBe(403);
    const ren = (
      dst: string,
      extra = '',
    ): Promise<ReturnType<typeof call> extends Promise<infer R> ? R : never> =>
      call('PUT', `${V}/data/r/f1?op=RENAME&${A}&destination=${encodeURIComponent(dst)}${extra}`);
    expect((await ren('/data/r/f2')).json()).toEqual({ boolean: false });
    expect((await ren('/data/nowhere/x')).json()).toEqual({ boolean: false });
    expect((await ren('/data/r/a')).json()).toEqual({ boolean: true });
    expect(await fx.fs.exists('/data/r/a/f1')).toBe(true);
    expect((await call('PUT', `${V}/data/r/missing?op=RENAME&${A}&destination=/data/r/zz`)).json()).toEqual({
      boolean: false,
    });
    const opt = await call(
      'PUT',
      `${V}/data/r/f2?op=RENAME&${A}&destination=/data/r/a/f1&renameoptions=NONE`,
    );
    expect(opt.status).toBe(403);
    expect((opt.json()['RemoteException'] as Record<string, unknown>)['exception']).toBe(
      'FileAlreadyExistsException',
    );
    const ow = await call(
      'PUT',
      `${V}/data/r/f2?op=RENAME&${A}&destination=/data/r/a/f1&renameoptions=OVERWRITE`,
    );
    expect([ow.status, ow.text]).toEqual([200, '']);
    expect((await call('GET', `${V}/data/r/a/f1?op=OPEN&${A}`)).text).toBe('2');
    expect((await call('DELETE', `${V}/data/r/none?op=DELETE&${A}`)).json()).toEqual({ boolean: false });
    const ne = await call('DELETE', `${V}/data/r?op=DELETE&${A}&recursive=false`);
    expect(ne.status).toBe(403);
    expect((ne.json()['RemoteException'] as Record<string, unknown>)['javaClassName']).toBe(
      'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
    );
    expect((await call('DELETE', `${V}/data/r?op=DELETE&${A}&recursive=true`)).json()).toEqual({
      boolean: true,
    });
    expect((await call('DELETE', `${V}/?op=DELETE&user.name=root&recursive=true`)).json()).toEqual({
      boolean: false,
    });
  });

  it('SETPERMISSION, SETOWNER, SETTIMES, TRUNCATE, CONCAT', async () => {
    await put('/data/p', '0123456789');
    expect((await call('PUT', `${V}/data/p?op=SETPERMISSION&${A}&permission=1750`)).status).toBe(200);
    expect((await fx.fs.getFileStatus('/data/p')).permission).toBe(0o1750);
    expect((await call('PUT', `${V}/data/p?op=SETPERMISSION&${A}&permission=2000`)).status).toBe(400);
    expect((await call('PUT', `${V}/data/p?op=SETOWNER&${A}&owner=bob`)).status).toBe(403);
    expect(
      (await call('PUT', `${V}/data/p?op=SETOWNER&user.name=root&owner=bob&group=analysts`)).status,
    ).toBe(200);
    expect(await fx.fs.getFileStatus('/data/p')).toMatchObject({ owner: 'bob', group: 'analysts' });
    expect((await call('PUT', `${V}/data/p?op=SETOWNER&user.name=root`)).status).toBe(400);
    expect(
      (
        await call(
          'PUT',
          `${V}/data/p?op=SETTIMES&user.name=root&modificationtime=1600000000123&accesstime=-1`,
        )
      ).status,
    ).toBe(200);
    expect((await fx.fs.getFileStatus('/data/p')).modificationTime).toBe(1600000000123);
    expect((await call('POST', `${V}/data/p?op=TRUNCATE&user.name=root&newlength=4`)).json()).toEqual({
      boolean: true,
    });
    expect((await call('POST', `${V}/data/p?op=TRUNCATE&user.name=root&newlength=40`)).status).toBe(400);
    await put('/data/c1', 'AB');
    await put('/data/c2', 'CDE');
    expect(
      (await call('POST', `${V}/data/p?op=CONCAT&user.name=root&sources=/data/c1,/data/c2`)).status,
    ).toBe(200);
    expect((await call('GET', `${V}/data/p?op=OPEN&${A}`)).text).toBe('0123ABCDE');
    expect(await fx.fs.exists('/data/c1')).toBe(false);
  });

  it('xattrs: SETXATTR flags, GETXATTRS encodings, LISTXATTRS string, REMOVEXATTR', async () => {
    await put('/data/x', 'x');
    expect(
      (await call('PUT', `${V}/data/x?op=SETXATTR&${A}&xattr.name=user.a&xattr.value=%22hi%22&flag=CREATE`))
        .status,
    ).toBe(200);
    expect(
      (await call('PUT', `${V}/data/x?op=SETXATTR&${A}&xattr.name=user.a&xattr.value=0x6869&flag=CREATE`))
        .status,
    ).toBe(403);
    expect(
      (
        await call(
          'PUT',
          `${V}/data/x?op=SETXATTR&${A}&xattr.name=user.b&xattr.value=0s3q2%2B7w%3D%3D&flag=CREATE,REPLACE`,
        )
      ).status,
    ).toBe(200);
    expect(
      (await call('PUT', `${V}/data/x?op=SETXATTR&${A}&xattr.name=nonamespace&xattr.value=1&flag=CREATE`))
        .status,
    ).toBe(400);
    const hex = (await call('GET', `${V}/data/x?op=GETXATTRS&${A}&xattr.name=user.a&encoding=HEX`)).json();
    expect(hex).toEqual({ XAttrs: [{ name: 'user.a', value: '0x6869' }] });
    const txt = (await call('GET', `${V}/data/x?op=GETXATTRS&${A}&encoding=text`)).json();
    expect(txt['XAttrs']).toEqual(expect.arrayContaining([{ name: 'user.a', value: '"hi"' }]));
    const b64 = (await call('GET', `${V}/data/x?op=GETXATTRS&${A}&xattr.name=user.b&encoding=BASE64`)).json();
    expect(b64).toEqual({ XAttrs: [{ name: 'user.b', value: '0s3q2+7w==' }] });
    expect((await call('GET', `${V}/data/x?op=GETXATTRS&${A}`)).status).toBe(400);
    expect((await call('GET', `${V}/data/x?op=GETXATTRS&${A}&xattr.name=user.zz&encoding=TEXT`)).status).toBe(
      403,
    );
    const names = (await call('GET', `${V}/data/x?op=LISTXATTRS&${A}`)).json();
    expect(typeof names['XAttrNames']).toBe('string');
    expect((JSON.parse(names['XAttrNames'] as string) as string[]).sort()).toEqual(['user.a', 'user.b']);
    expect((await call('PUT', `${V}/data/x?op=REMOVEXATTR&${A}&xattr.name=user.a`)).status).toBe(200);
    expect((await call('PUT', `${V}/data/x?op=REMOVEXATTR&${A}&xattr.name=user.a`)).status).toBe(403);
  });
});

describe('WebHDFS gateway: identity, protocol details, bad input', () => {
  it('maps user.name to uid/gid and enforces permissions; unknown users are rejected', async () => {
    await fx.fs.mkdirs('/private');
    await fx.fs.setPermission('/private', 0o700);
    const denied = await call('GET', `${V}/private?op=LISTSTATUS&user.name=bob`);
    expect(denied.status).toBe(403);
    expect(denied.json()['RemoteException']).toMatchObject({
      exception: 'AccessControlException',
      javaClassName: 'org.apache.hadoop.security.AccessControlException',
    });
    const unknown = await call('GET', `${V}/?op=GETFILESTATUS&user.name=mallory`);
    expect(unknown.status).toBe(403);
    expect(unknown.json()['RemoteException']).toMatchObject({ exception: 'SecurityException' });
    expect((await call('GET', `${V}/?op=GETFILESTATUS&user.name=bob&doas=alice`)).status).toBe(403);
    expect((await call('GET', `${V}/?op=GETFILESTATUS&user.name=root&doas=alice`)).status).toBe(200);
  });

  it('Expect: 100-continue: no 100 on the NN step, 100 then 201 on the data step', async () => {
    const body = Buffer.alloc(300_000, 1);
    const nn = await call('PUT', `${V}/data/expect.bin?op=CREATE&${A}&overwrite=true`, {
      headers: { Expect: '100-continue', 'Content-Length': String(body.length) },
      body,
    });
    expect(nn.status).toBe(307);
    expect(nn.sawContinue).toBe(false);
    const u = new URL(String(nn.headers.location));
    const dn = await call('PUT', u.pathname + u.search, {
      headers: { Expect: '100-continue', 'Content-Length': String(body.length) },
      body,
    });
    expect(dn.sawContinue).toBe(true);
    expect(dn.status).toBe(201);
    expect((await fx.fs.getFileStatus('/data/expect.bin')).length).toBe(body.length);
  });

  it('bad input answers 400 RemoteException and the gateway keeps serving', async () => {
    const bad = [
      ['GET', `${V}/data/../etc?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/%2e%2e/x?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/./x?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/%FF%FE?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/a%00b?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/a%2Fb?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/bad%zz?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data/a:b?op=GETFILESTATUS&${A}`],
      ['GET', `${V}/data?op=NOSUCHOP&${A}`],
      ['GET', `${V}/data?${A}`],
      ['GET', `${V}/data?op=MKDIRS&${A}`],
      ['GET', `${V}/data/digits?op=OPEN&${A}&length=99999999999999999999999`],
      ['GET', `${V}/data/digits?op=OPEN&${A}&offset=-1`],
      ['GET', `${V}/data/digits?op=OPEN&${A}&length=abc`],
      ['PUT', `${V}/data/digits?op=RENAME&${A}&destination=`],
      ['PUT', `${V}/data/digits?op=RENAME&${A}&destination=relative/x`],
      ['PUT', `${V}/data/digits?op=RENAME&${A}&destination=/a/../b`],
      ['PUT', `${V}/data/y?op=MKDIRS&${A}&permission=99`],
      ['DELETE', `${V}/data?op=DELETE&${A}&recursive=maybe`],
      ['GET', `${V}/data?op=GETACLSTATUS&${A}`],
      ['GET', `/other/path?op=GETFILESTATUS`],
    ] as const;
    for (const [m, t] of bad) {
      const r = await call(m, t);
      expect(r.status, `${m} ${t}`).toBe(400);
      const re = r.json()['RemoteException'] as Record<string, unknown>;
      expect(['IllegalArgumentException', 'UnsupportedOperationException']).toContain(re['exception']);
      expect(typeof re['message']).toBe('string');
    }
    const unknownOp = (await call('GET', `${V}/data?op=NOSUCHOP&${A}`)).json()['RemoteException'] as Record<
      string,
      unknown
    >;
    expect(unknownOp['message']).toContain('Invalid value for webhdfs parameter "op"');
    expect((await call('GET', `${V}/?op=GETFILESTATUS&${A}`)).status).toBe(200);
  });

  it('serves many concurrent clients; appends to one file are serialised', async () => {
    const jobs = Array.from({ length: 24 }, async (_, i) => {
      await put(`/data/conc-${i}`, `payload-${i}`.repeat(1000));
      const r = await call('GET', `${V}/data/conc-${i}?op=OPEN&${A}`);
      expect(r.text).toBe(`payload-${i}`.repeat(1000));
    });
    await Promise.all(jobs);
    await put('/data/shared-log', '');
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const nn = await call('POST', `${V}/data/shared-log?op=APPEND&${A}`);
        const u = new URL(String(nn.headers.location));
        expect((await call('POST', u.pathname + u.search, { body: `line-${i}\n` })).status).toBe(200);
      }),
    );
    const lines = (await call('GET', `${V}/data/shared-log?op=OPEN&${A}`)).text.trim().split('\n').sort();
    expect(lines).toEqual(Array.from({ length: 8 }, (_, i) => `line-${i}`).sort());
  });

  it('GETFILECHECKSUM is a clear 400 unless enabled; the CRC32C is the standard one', async () => {
    const r = await call('GET', `${V}/data/digits?op=GETFILECHECKSUM&${A}`);
    expect(r.status).toBe(400);
    expect(r.json()['RemoteException']).toMatchObject({ exception: 'UnsupportedOperationException' });
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('logs every request once with op, user and status', () => {
    const e = fx.log.find((x) => x.op === 'GETHOMEDIRECTORY');
    expect(e).toMatchObject({ method: 'GET', user: 'alice', status: 200 });
  });
});

describe('WebHDFS gateway with a token and checksums', () => {
  let tfx: GatewayFixture;
  beforeAll(async () => {
    tfx = await startGatewayFixture({ meta: 'mem', storage: 'mem' }, { token: 's3cret', checksum: true });
  });
  afterAll(async () => tfx?.close());

  it('requires the token (delegation= or Bearer) and computes MD5-of-MD5-of-CRC32C', async () => {
    const no = await raw(tfx.gw.url, 'GET', `${V}/?op=GETFILESTATUS&${A}`);
    expect(no.status).toBe(403);
    expect(no.json()['RemoteException']).toMatchObject({ exception: 'SecurityException' });
    expect((await raw(tfx.gw.url, 'GET', `${V}/?op=GETFILESTATUS&${A}&delegation=wrong`)).status).toBe(403);
    expect((await raw(tfx.gw.url, 'GET', `${V}/?op=GETFILESTATUS&${A}&delegation=s3cret`)).status).toBe(200);
    expect(
      (
        await raw(tfx.gw.url, 'GET', `${V}/?op=GETFILESTATUS&${A}`, {
          headers: { Authorization: 'Bearer s3cret' },
        })
      ).status,
    ).toBe(200);
    const nn = await raw(tfx.gw.url, 'PUT', `${V}/f?op=CREATE&user.name=root&delegation=s3cret`);
    const u = new URL(String(nn.headers.location));
    expect(u.searchParams.get('delegation')).toBe('s3cret');
    expect((await raw(tfx.gw.url, 'PUT', u.pathname + u.search, { body: 'abc' })).status).toBe(201);
    const ck = (
      await raw(tfx.gw.url, 'GET', `${V}/f?op=GETFILECHECKSUM&user.name=root&delegation=s3cret`)
    ).json()['FileChecksum'] as Record<string, unknown>;
    expect(ck['algorithm']).toBe('MD5-of-0MD5-of-512CRC32C');
    expect(ck['length']).toBe(28);
    expect(String(ck['bytes'])).toMatch(/^00000200[0-9a-f]{48}$/);
  });

  it('refuses a non-loopback listener without a token', async () => {
    const { startWebHdfsGateway } = await import('../../src/gateway/webhdfs.js');
    await expect(startWebHdfsGateway({ fs: tfx.fs, host: '0.0.0.0', port: 0 })).rejects.toThrow(/token/);
  });
});
