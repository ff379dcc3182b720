/**
 * ACLs through the WebHDFS gateway over raw HTTP on an `--enable-acl` volume (SQLite, Redis, mem):
 * GETACLSTATUS's JSON shape, SETACL / MODIFYACLENTRIES / REMOVEACLENTRIES / REMOVEDEFAULTACL /
 * REMOVEACL with Hadoop's aclspec syntax and AclTransformation rules (mask recalculation,
 * default base entries copied from the access ones), inheritance by CREATE/MKDIRS, access as
 * another user, aclBit in FileStatus, and RemoteException answers for bad specs and invalid
 * ACLs; plus the spec parser and transformations against Hadoop's documented behaviour.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aclEntryString,
  featureEntries,
  filterAclEntriesByAclSpec,
  mergeAclEntries,
  parseAclSpec,
  replaceAclEntries,
  type AclEntry,
} from '../../src/api/hdfs-acl.js';
import { HdfsError } from '../../src/api/hdfs-errors.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { raw, startGatewayFixture, type GatewayFixture } from './gateway-fixture.js';

const V = '/webhdfs/v1';
const spec = (s: string): AclEntry[] => parseAclSpec(s, true);
const strings = (l: AclEntry[]): string[] => l.map(aclEntryString);

describe('Hadoop aclspec and AclTransformation', () => {
  it('parses and prints entries as AclEntry does', () => {
    expect(strings(spec('user::rwx,user:bruce:r-x,default:group:sales:rw-,mask::r--,other::---'))).toEqual([
      'user::rwx',
      'user:bruce:r-x',
      'default:group:sales:rw-',
      'mask::r--',
      'other::---',
    ]);
    expect(strings(parseAclSpec('user:bruce:,default:user:bruce,mask::', false))).toEqual([
      'user:bruce:',
      'default:user:bruce:',
      'mask::',
    ]);
    for (const bad of ['user:bruce', 'user:bruce:rwz', 'owner::rwx', 'user:bruce:rwx:x', 'default'])
      expect(() => parseAclSpec(bad, true), bad).toThrow(HdfsError);
    expect(() => parseAclSpec('user:bruce:rwx', false)).toThrow(/Invalid <aclSpec>/);
  });

  it('merges, filters and replaces with mask recalculation and copied default base entries', () => {
    const base = spec('user::rw-,group::r--,other::---');
    // modify: a named user adds a mask = union of the group class
    expect(strings(mergeAclEntries(base, spec('user:bruce:rwx')))).toEqual([
      'user::rw-',
      'user:bruce:rwx',
      'group::r--',
      'mask::rwx',
      'other::---',
    ]);
    // an explicit mask is kept as given
    expect(strings(mergeAclEntries(base, spec('user:bruce:rwx,mask::r--')))).toContain('mask::r--');
    // a default entry alone gets user/group/other copied from the access entries
    expect(strings(mergeAclEntries(base, spec('default:user:bruce:r-x')))).toEqual([
      'user::rw-',
      'group::r--',
      'other::---',
      'default:user::rw-',
      'default:user:bruce:r-x',
      'default:group::r--',
      'default:mask::r-x',
      'default:other::---',
    ]);
    // remove: the mask is recalculated from what is left
    const ext = spec('user::rw-,user:bruce:rwx,user:diana:r--,group::r--,mask::rwx,other::---');
    expect(strings(filterAclEntriesByAclSpec(ext, parseAclSpec('user:bruce:', false)))).toEqual([
      'user::rw-',
      'user:diana:r--',
      'group::r--',
      'mask::r--',
      'other::---',
    ]);
    expect(() => filterAclEntriesByAclSpec(ext, parseAclSpec('mask::', false))).toThrow(
      'Invalid ACL: mask is required and cannot be deleted.',
    );
    expect(() => replaceAclEntries(ext, spec('user:bruce:rwx'))).toThrow(
      'Invalid ACL: the user, group and other entries are required.',
    );
    expect(() => mergeAclEntries(base, spec('user:bruce:rwx,user:bruce:r--'))).toThrow(
      'Invalid ACL: multiple entries with same scope, type and name.',
    );
    expect(() => mergeAclEntries(base, spec('mask:bruce:rwx'))).toThrow(/must not have a name/);
    // status entries: access entries beyond the mode bits, then the whole default ACL
    expect(strings(featureEntries(ext))).toEqual(['user:bruce:rwx', 'user:diana:r--', 'group::r--']);
    expect(featureEntries(base)).toEqual([]);
  });
});

const HAS_REDIS = existsSync('/usr/bin/redis-server');
if (!HAS_REDIS) console.warn('webhdfs-acl: redis-server not installed; the Redis run is skipped');

for (const meta of ['sqlite', 'redis', 'mem'] as const) {
  describe.skipIf(meta === 'redis' && !HAS_REDIS)(`WebHDFS ACL ops over HTTP (${meta})`, () => {
    let redis: RedisServer | undefined;
    let fx: GatewayFixture;
    const call = (method: string, target: string) => raw(fx.gw.url, method, target);
    const as = (user: string) => `user.name=${user}`;

    async function status(path: string, user = 'alice'): Promise<Record<string, unknown>> {
      const r = await call('GET', `${V}${path}?op=GETACLSTATUS&${as(user)}`);
      expect(r.status, r.text).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      return r.json()['AclStatus'] as Record<string, unknown>;
    }
    async function putOp(path: string, op: string, aclspec?: string, user = 'alice'): Promise<number> {
      const q = aclspec === undefined ? '' : `&aclspec=${encodeURIComponent(aclspec)}`;
      const r = await call('PUT', `${V}${path}?op=${op}${q}&${as(user)}`);
      if (r.status === 200) expect(r.body.length).toBe(0);
      return r.status;
    }
    async function remote(method: string, target: string, code: number): Promise<Record<string, unknown>> {
      const r = await call(method, target);
      expect(r.status, r.text).toBe(code);
      return r.json()['RemoteException'] as Record<string, unknown>;
    }
    async function write(path: string, data: string, user = 'alice'): Promise<number> {
      const nn = await call('PUT', `${V}${path}?op=CREATE&overwrite=true&permission=644&${as(user)}`);
      if (nn.status !== 307) return nn.status;
      const loc = new URL(String(nn.headers.location));
      const { request } = await import('node:http');
      return new Promise((resolve, reject) => {
        const u = new URL(fx.gw.url);
        const req = request(
          { host: u.hostname, port: u.port, method: 'PUT', path: loc.pathname + loc.search, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    }

    beforeAll(async () => {
      if (meta === 'redis') redis = await startRedis();
      fx = await startGatewayFixture({
        meta: redis ? { redisUrl: redis.url } : meta === 'redis' ? 'mem' : meta,
        storage: 'mem',
        enableAcl: true,
      });
      await fx.fs.mkdirs('/user/alice');
      await fx.fs.setOwner('/user/alice', 'alice', 'alice');
      await fx.fs.mkdirs('/data');
      await fx.fs.setPermission('/data', 0o777);
    });
    afterAll(async () => {
      await fx?.close();
      await redis?.stop();
    });

    it('GETACLSTATUS of a plain file; MODIFYACLENTRIES grants a named user; FileStatus has aclBit', async () => {
      expect(await write('/data/f', 'secret')).toBe(201);
      expect((await call('PUT', `${V}/data/f?op=SETPERMISSION&permission=600&${as('alice')}`)).status).toBe(
        200,
      );
      const plain = await call('GET', `${V}/data/f?op=GETACLSTATUS&${as('alice')}`);
      expect(plain.text).toBe(
        '{"AclStatus":{"entries":[],"group":"alice","owner":"alice","permission":"600","stickyBit":false}}',
      );
      expect((await call('GET', `${V}/data/f?op=OPEN&${as('bob')}`)).status).toBe(403);
      expect(await putOp('/data/f', 'MODIFYACLENTRIES', 'user:bob:r--')).toBe(200);
      expect(await status('/data/f')).toEqual({
        entries: ['user:bob:r--', 'group::---'],
        group: 'alice',
        owner: 'alice',
        permission: '640',
        stickyBit: false,
      });
      const open = await call('GET', `${V}/data/f?op=OPEN&${as('bob')}`);
      expect(open.status).toBe(200);
      expect(open.text).toBe('secret');
      const st = (await call('GET', `${V}/data/f?op=GETFILESTATUS&${as('bob')}`)).json()[
        'FileStatus'
      ] as Record<string, unknown>;
      expect(st['aclBit']).toBe(true);
      expect(st['permission']).toBe('640');
      // a named group entry: alice is in analysts (2000), bob is not
      expect(await putOp('/data/f', 'MODIFYACLENTRIES', 'group:analysts:rw-,mask::r--')).toBe(200);
      expect((await status('/data/f'))['entries']).toEqual([
        'user:bob:r--',
        'group::---',
        'group:analysts:rw-',
      ]);
      expect((await status('/data/f'))['permission']).toBe('640'); // the explicit mask r--
    });

    it('SETACL with default entries on a directory; CREATE and MKDIRS inherit them', async () => {
      expect(
        await call('PUT', `${V}/data/d?op=MKDIRS&permission=750&${as('alice')}`).then((r) => r.status),
      ).toBe(200);
      expect(await putOp('/data/d', 'SETACL', 'user::rwx,group::r-x,other::---,default:user:bob:rwx')).toBe(
        200,
      );
      expect(await status('/data/d')).toEqual({
        entries: [
          'default:user::rwx',
          'default:user:bob:rwx',
          'default:group::r-x',
          'default:mask::rwx',
          'default:other::---',
        ],
        group: 'alice',
        owner: 'alice',
        permission: '750',
        stickyBit: false,
      });
      expect(await write('/data/d/child', 'x')).toBe(201);
      // mode 644 under the default: owner rw-, mask r-- (4 & rwx), other --- (4 & ---)
      expect(await status('/data/d/child')).toMatchObject({
        entries: ['user:bob:rwx', 'group::r-x'],
        permission: '640',
      });
      expect((await call('PUT', `${V}/data/d/sub?op=MKDIRS&permission=755&${as('alice')}`)).status).toBe(200);
      const sub = await status('/data/d/sub');
      expect(sub['entries']).toEqual([
        'user:bob:rwx',
        'group::r-x',
        'default:user::rwx',
        'default:user:bob:rwx',
        'default:group::r-x',
        'default:mask::rwx',
        'default:other::---',
      ]);
      expect(sub['permission']).toBe('750');
      // bob cannot list d (other ---) but can list sub through the inherited entry
      expect((await call('GET', `${V}/data/d?op=LISTSTATUS&${as('bob')}`)).status).toBe(403);
      expect((await call('GET', `${V}/data/d/sub?op=LISTSTATUS&${as('bob')}`)).status).toBe(403); // d blocks the walk
      expect(await putOp('/data/d', 'MODIFYACLENTRIES', 'user:bob:--x')).toBe(200);
      expect((await call('GET', `${V}/data/d/sub?op=LISTSTATUS&${as('bob')}`)).status).toBe(200);
    });

    it('REMOVEACLENTRIES recalculates the mask; REMOVEDEFAULTACL and REMOVEACL go back to the mode', async () => {
      expect(await putOp('/data/d', 'REMOVEACLENTRIES', 'user:bob:')).toBe(200);
      // the mask stays (recalculated: the group entry's r-x), as HDFS and setfacl -x keep it
      expect((await status('/data/d'))['entries']).toEqual([
        'group::r-x',
        'default:user::rwx',
        'default:user:bob:rwx',
        'default:group::r-x',
        'default:mask::rwx',
        'default:other::---',
      ]);
      expect((await status('/data/d'))['permission']).toBe('750');
      expect(await putOp('/data/d', 'REMOVEACLENTRIES', 'default:user:bob:')).toBe(200);
      expect((await status('/data/d'))['entries']).toEqual([
        'group::r-x',
        'default:user::rwx',
        'default:group::r-x',
        'default:mask::r-x',
        'default:other::---',
      ]);
      expect(await putOp('/data/d', 'REMOVEDEFAULTACL')).toBe(200);
      expect((await status('/data/d'))['entries']).toEqual(['group::r-x']);
      expect(await putOp('/data/d', 'REMOVEACL')).toBe(200);
      expect(await status('/data/d')).toMatchObject({ entries: [], permission: '750' });
      const st = (await call('GET', `${V}/data/d?op=GETFILESTATUS&${as('alice')}`)).json()[
        'FileStatus'
      ] as Record<string, unknown>;
      expect(st['aclBit']).toBeUndefined();
      // REMOVEACL: the group bits become the group entry's (---), not the mask's (r--)
      expect(await putOp('/data/f', 'REMOVEACL')).toBe(200);
      expect(await status('/data/f')).toMatchObject({ entries: [], permission: '600' });
      expect((await call('GET', `${V}/data/f?op=OPEN&${as('bob')}`)).status).toBe(403);
    });

    it('answers RemoteException for bad specs, invalid ACLs and non-owners', async () => {
      expect(await write('/data/g', 'g')).toBe(201);
      const bad = (p: string, op: string, s: string) =>
        `${V}${p}?op=${op}&aclspec=${encodeURIComponent(s)}&${as('alice')}`;
      for (const s of ['user:bob', 'user:bob:rwz', 'owner::rwx', 'user:bob:rw-:x', 'user:b c:rwx'])
        expect(await remote('PUT', bad('/data/g', 'MODIFYACLENTRIES', s), 400)).toMatchObject({
          exception: expect.stringMatching(/IllegalArgumentException$/),
          javaClassName: expect.stringMatching(/IllegalArgumentException$/),
        });
      // a spec with permissions is not a removal spec
      expect(await remote('PUT', bad('/data/g', 'REMOVEACLENTRIES', 'user:bob:rwx'), 400)).toMatchObject({
        exception: 'HadoopIllegalArgumentException',
      });
      const acl = (re: Record<string, unknown>, msg: RegExp) => {
        expect(re['exception']).toBe('AclException');
        expect(re['javaClassName']).toBe('org.apache.hadoop.hdfs.protocol.AclException');
        expect(String(re['message'])).toMatch(msg);
      };
      acl(
        await remote('PUT', bad('/data/g', 'SETACL', 'user:bob:rwx'), 403),
        /user, group and other entries are required/,
      );
      acl(
        await remote('PUT', bad('/data/g', 'MODIFYACLENTRIES', 'default:user:bob:rwx'), 403),
        /only directories may have a default ACL/,
      );
      acl(
        await remote('PUT', bad('/data/g', 'MODIFYACLENTRIES', 'user:bob:rwx,user:bob:r--'), 403),
        /multiple entries with same scope, type and name/,
      );
      expect(await putOp('/data/g', 'MODIFYACLENTRIES', 'user:bob:rwx')).toBe(200);
      acl(await remote('PUT', bad('/data/g', 'REMOVEACLENTRIES', 'mask::'), 403), /mask is required/);
      acl(
        await remote('PUT', bad('/data/g', 'MODIFYACLENTRIES', 'mask:bob:rwx'), 403),
        /must not have a name/,
      );
      expect(
        await remote('PUT', bad('/data/g', 'MODIFYACLENTRIES', 'user:nosuchuser:rwx'), 400),
      ).toMatchObject({
        exception: 'HadoopIllegalArgumentException',
      });
      // only the owner (or root) changes an ACL
      expect(
        await remote('PUT', `${V}/data/g?op=MODIFYACLENTRIES&aclspec=user:bob:rwx&${as('bob')}`, 403),
      ).toMatchObject({ exception: 'AccessControlException' });
      expect(await remote('GET', `${V}/data/none?op=GETACLSTATUS&${as('alice')}`, 404)).toMatchObject({
        exception: 'FileNotFoundException',
      });
      // the gateway keeps serving
      expect((await status('/data/g'))['entries']).toEqual(['user:bob:rwx', 'group::r--']);
    });
  });
}

describe('WebHDFS ACL ops on a volume without --enable-acl', () => {
  let fx: GatewayFixture;
  beforeAll(async () => {
    fx = await startGatewayFixture({ meta: 'mem', storage: 'mem' });
  });
  afterAll(async () => fx?.close());
  it('answers 400 UnsupportedOperationException', async () => {
    for (const [m, op] of [
      ['GET', 'GETACLSTATUS'],
      ['PUT', 'SETACL&aclspec=user::rwx,group::r-x,other::---'],
      ['PUT', 'REMOVEACL'],
    ] as const) {
      const r = await raw(fx.gw.url, m, `${V}/?op=${op}&user.name=root`);
      expect(r.status, op).toBe(400);
      expect((r.json()['RemoteException'] as Record<string, unknown>)['exception']).toBe(
        'UnsupportedOperationException',
      );
    }
  });
});
