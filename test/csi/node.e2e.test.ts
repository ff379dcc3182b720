/**
 * CSI driver end to end over a real gRPC client on the unix socket: Identity, Controller
 * (CreateVolume/DeleteVolume with a quota) and Node (publish/unpublish of a sub-directory
 * through a shared, supervised FUSE mount; idempotency; error codes; stats; plugin restart
 * with mounts in use; recovery of a killed mount daemon). Needs root, /dev/fuse, the native
 * addon and `npm run build` (the plugin spawns dist/src/cli/bin.js).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsiPlugin, DRIVER_NAME } from '../../src/csi/csi-plugin.js';
import { openMeta } from '../../src/meta/base-meta.js';
import { ROOT_CONTEXT, ROOT_INODE } from '../../src/base/types.js';
import { fuseAvailable } from '../fuse/harness.js';
import type { Logger } from '../../src/util/logger.js';
import {
  CsiClient,
  cleanupDir,
  formatVolume,
  mountsUnder,
  readState,
  sh,
  shortTempDir,
  type TestVolume,
} from './csi-harness.js';

const GiB = 1024 ** 3;

/** Pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return Number(readFileSync(`/proc/${n}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

describe.skipIf(!fuseAvailable())('tjfs csi (node + controller over gRPC)', () => {
  let dir = '';
  let vol: TestVolume;
  let plugin: CsiPlugin | undefined;
  let client: CsiClient;
  let stateDir = '';
  const pvc = `pvc-${randomUUID()}`;
  let volumeContext: Record<string, string> = {};
  const logged: string[] = [];
  const record = (msg: string, fields?: Record<string, unknown>): void =>
    void logged.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  const capturing: Logger = { info: record, warn: record, error: record };

  const start = async (): Promise<void> => {
    plugin = await CsiPlugin.start({
      endpoint: `unix://${join(dir, 'csi.sock')}`,
      nodeId: 'node-1',
      mode: 'all',
      stateDir,
      mountBase: join(dir, 'mnt'),
      version: '0.1.0-test',
      logger: capturing,
      env: process.env,
      checkIntervalMs: 0,
    });
  };
  const capability = (mode = 'MULTI_NODE_MULTI_WRITER'): object => ({
    mount: { fsType: 'tjfs', mountFlags: [`cache-dir=${join(dir, 'cache')}`, 'cache-size=64'] },
    accessMode: { mode },
  });
  const publishReq = (target: string, extra: object = {}): object => ({
    volumeId: pvc,
    targetPath: target,
    volumeCapability: capability(),
    secrets: { metaurl: vol.metaUrl },
    volumeContext,
    ...extra,
  });

  beforeAll(async () => {
    dir = shortTempDir('tcsi-');
    stateDir = join(dir, 'state');
    vol = await formatVolume(dir);
    await start();
    client = new CsiClient(join(dir, 'csi.sock'));
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await plugin?.close().catch(() => undefined);
    cleanupDir(dir, [stateDir]);
    expect(mountsUnder(dir)).toEqual([]);
  }, 60_000);

  it('answers Identity, NodeGetInfo and the capability RPCs', async () => {
    const info = await client.call<{ name: string; vendorVersion: string }>(client.identity, 'GetPluginInfo');
    expect(info.name).toBe(DRIVER_NAME);
    expect(info.vendorVersion).toBe('0.1.0-test');
    const caps = await client.call<{ capabilities: { service?: { type: string } }[] }>(
      client.identity,
      'GetPluginCapabilities',
    );
    expect(caps.capabilities.map((c) => c.service?.type)).toContain('CONTROLLER_SERVICE');
    const probe = await client.call<{ ready: { value: boolean } }>(client.identity, 'Probe');
    expect(probe.ready.value).toBe(true);
    const ni = await client.call<{ nodeId: string; maxVolumesPerNode: string }>(client.node, 'NodeGetInfo');
    expect(ni).toMatchObject({ nodeId: 'node-1', maxVolumesPerNode: '0' });
    const nc = await client.call<{ capabilities: { rpc: { type: string } }[] }>(
      client.node,
      'NodeGetCapabilities',
    );
    expect(nc.capabilities.map((c) => c.rpc.type).sort()).toEqual(['GET_VOLUME_STATS', 'VOLUME_CONDITION']);
    const cc = await client.call<{ capabilities: { rpc: { type: string } }[] }>(
      client.controller,
      'ControllerGetCapabilities',
    );
    expect(cc.capabilities.map((c) => c.rpc.type)).toContain('CREATE_DELETE_VOLUME');
    expect(await client.rawCode('/csi.v1.Node/NodeStageVolume')).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('rejects bad requests with CSI codes', async () => {
    const t = join(dir, 'pods', 'bad', 'mount');
    const INVALID = grpc.status.INVALID_ARGUMENT;
    expect(await client.code(client.node, 'NodePublishVolume', publishReq(t, { volumeId: '' }))).toBe(
      INVALID,
    );
    expect(await client.code(client.node, 'NodePublishVolume', publishReq(''))).toBe(INVALID);
    expect(
      await client.code(client.node, 'NodePublishVolume', publishReq(t, { volumeCapability: null })),
    ).toBe(INVALID);
    expect(await client.code(client.node, 'NodePublishVolume', publishReq(t, { secrets: {} }))).toBe(INVALID);
    expect(
      await client.code(
        client.node,
        'NodePublishVolume',
        publishReq(t, { volumeCapability: { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } } }),
      ),
    ).toBe(INVALID);
    expect(await client.code(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: '' })).toBe(
      INVALID,
    );
    expect(await client.code(client.node, 'NodeUnpublishVolume', { volumeId: '', targetPath: t })).toBe(
      INVALID,
    );
    expect(await client.code(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: t })).toBe(
      grpc.status.OK,
    );
    expect(await client.code(client.node, 'NodeGetVolumeStats', { volumeId: pvc, volumePath: t })).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(await client.code(client.node, 'NodeGetVolumeStats', { volumeId: pvc, volumePath: '' })).toBe(
      INVALID,
    );
    expect(
      await client.code(client.controller, 'CreateVolume', { name: '', volumeCapabilities: [capability()] }),
    ).toBe(INVALID);
    expect(await client.code(client.controller, 'CreateVolume', { name: pvc, volumeCapabilities: [] })).toBe(
      INVALID,
    );
    const missing = {
      volumeId: `pvc-${randomUUID()}`,
      volumeCapabilities: [capability()],
      secrets: { metaurl: vol.metaUrl },
    };
    expect(await client.code(client.controller, 'ValidateVolumeCapabilities', missing)).toBe(
      grpc.status.NOT_FOUND,
    );
    expect(
      await client.code(client.controller, 'DeleteVolume', {
        volumeId: missing.volumeId,
        secrets: { metaurl: vol.metaUrl },
      }),
    ).toBe(grpc.status.OK);
    const err = await client
      .call(
        client.node,
        'NodePublishVolume',
        publishReq(t, { secrets: { metaurl: 'redis://u:hunter2@127.0.0.1:1/1' } }),
      )
      .catch((e: grpc.ServiceError) => e);
    expect(String((err as grpc.ServiceError).details)).not.toContain('hunter2');
    expect(logged.join('\n')).toContain('NodePublishVolume failed');
    expect(logged.join('\n')).not.toContain('hunter2');
  }, 60_000);

  it('CreateVolume makes a sub-directory with a quota, idempotently', async () => {
    const req = {
      name: pvc,
      capacityRange: { requiredBytes: String(GiB) },
      volumeCapabilities: [capability()],
      parameters: { 'csi.storage.k8s.io/pvc/name': 'data' },
      secrets: { metaurl: vol.metaUrl },
    };
    const r = await client.call<{
      volume: { volumeId: string; capacityBytes: string; volumeContext: Record<string, string> };
    }>(client.controller, 'CreateVolume', req);
    expect(r.volume).toMatchObject({ volumeId: pvc, capacityBytes: String(GiB) });
    expect(r.volume.volumeContext).toEqual({ subPath: pvc, capacity: String(GiB) });
    volumeContext = r.volume.volumeContext;
    expect((await client.call(client.controller, 'CreateVolume', req)) as unknown).toEqual(r);
    expect(
      await client.code(client.controller, 'CreateVolume', {
        ...req,
        capacityRange: { requiredBytes: String(2 * GiB) },
      }),
    ).toBe(grpc.status.ALREADY_EXISTS);
    const v = await client.call<{ confirmed: object | null }>(
      client.controller,
      'ValidateVolumeCapabilities',
      { volumeId: pvc, volumeCapabilities: [capability()], secrets: { metaurl: vol.metaUrl } },
    );
    expect(v.confirmed).not.toBeNull();
    const meta = await openMeta(vol.metaUrl);
    try {
      const e = await meta.lookup(ROOT_CONTEXT, ROOT_INODE, Buffer.from(pvc));
      expect(e.attr.mode & 0o777).toBe(0o777);
      expect((await meta.getQuota(e.ino))?.maxSpace).toBe(GiB);
    } finally {
      await meta.stop();
    }
    const x = await client.call<{ capacityBytes: string; nodeExpansionRequired: boolean }>(
      client.controller,
      'ControllerExpandVolume',
      { volumeId: pvc, capacityRange: { requiredBytes: String(3 * GiB) }, secrets: { metaurl: vol.metaUrl } },
    );
    expect(x).toEqual({ capacityBytes: String(3 * GiB), nodeExpansionRequired: false });
    const meta2 = await openMeta(vol.metaUrl);
    try {
      const e = await meta2.lookup(ROOT_CONTEXT, ROOT_INODE, Buffer.from(pvc));
      expect((await meta2.getQuota(e.ino))?.maxSpace).toBe(3 * GiB);
    } finally {
      await meta2.stop();
    }
  }, 60_000);

  it('publishes the sub-directory, shares one mount, is idempotent, and reports stats', async () => {
    const a = join(dir, 'pods', 'a', 'mount');
    const b = join(dir, 'pods', 'b', 'mount');
    await client.call(client.node, 'NodePublishVolume', publishReq(a));
    await client.call(client.node, 'NodePublishVolume', publishReq(a));
    expect(mountsUnder(a)).toHaveLength(1);
    expect(mountsUnder(a)[0]?.root).toBe(`/${pvc}`);
    const w = await sh(`echo hello > ${a}/f.txt && sync`);
    expect(w.code).toBe(0);
    await client.call(client.node, 'NodePublishVolume', publishReq(b, { readonly: true }));
    expect(await client.code(client.node, 'NodePublishVolume', publishReq(b))).toBe(
      grpc.status.ALREADY_EXISTS,
    );
    const st = readState(stateDir);
    const shared = Object.values(st?.mounts ?? {});
    expect(shared).toHaveLength(1);
    expect(Object.keys(shared[0]?.targets ?? {}).sort()).toEqual([a, b]);
    expect(JSON.stringify(st)).toContain(vol.metaUrl); // kept (0600) for remounts
    const base = shared[0]?.mountPoint ?? '';
    expect((await sh(`cat ${base}/${pvc}/f.txt && cat ${b}/f.txt`)).stdout).toBe('hello\nhello\n');
    expect((await sh(`echo x > ${b}/g.txt`)).code).not.toBe(0);
    const stats = await client.call<{
      usage: { unit: string; total: string; used: string; available: string }[];
      volumeCondition: { abnormal: boolean };
    }>(client.node, 'NodeGetVolumeStats', { volumeId: pvc, volumePath: a });
    expect(stats.volumeCondition.abnormal).toBe(false);
    const bytes = stats.usage.find((u) => u.unit === 'BYTES');
    const inodes = stats.usage.find((u) => u.unit === 'INODES');
    expect(Number(bytes?.total)).toBeGreaterThan(0);
    expect(Number(bytes?.available)).toBeGreaterThan(0);
    expect(Number(inodes?.used)).toBeGreaterThanOrEqual(2); // the PV directory and f.txt
  }, 90_000);

  it('a restarted plugin re-attaches to mounts in use and unpublish cleans up', async () => {
    const a = join(dir, 'pods', 'a', 'mount');
    const b = join(dir, 'pods', 'b', 'mount');
    const pid = Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid;
    client.close();
    await plugin?.close();
    plugin = undefined;
    await start();
    client = new CsiClient(join(dir, 'csi.sock'));
    expect(Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid).toBe(pid);
    expect((await sh(`cat ${a}/f.txt`)).stdout).toBe('hello\n');
    await client.call(client.node, 'NodePublishVolume', publishReq(a));
    await client.call(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: a });
    expect(mountsUnder(a)).toEqual([]);
    expect((await sh(`test -e ${a}`)).code).not.toBe(0);
    expect(mountsUnder(join(dir, 'mnt')).length).toBe(1);
    await client.call(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: b });
    await client.call(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: b });
    expect(mountsUnder(dir)).toEqual([]);
    expect(readState(stateDir)?.mounts).toEqual({});
  }, 90_000);

  it('reports a killed mount daemon as abnormal and heals it', async () => {
    const c = join(dir, 'pods', 'c', 'mount');
    await client.call(client.node, 'NodePublishVolume', publishReq(c));
    const pid = Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid ?? 0;
    // The whole mount daemon dies: its supervisor and the worker it runs.
    const workers = childrenOf(pid).filter((p) => cmdlineOf(p).includes('csi-mount'));
    process.kill(pid, 'SIGKILL');
    for (const w of workers) process.kill(w, 'SIGKILL');
    let abnormal = false;
    for (let i = 0; i < 200 && !abnormal; i++) {
      const s = await client.call<{ volumeCondition: { abnormal: boolean; message: string } }>(
        client.node,
        'NodeGetVolumeStats',
        { volumeId: pvc, volumePath: c },
      );
      abnormal = s.volumeCondition.abnormal;
      if (!abnormal) await new Promise((r) => setTimeout(r, 100));
    }
    expect(abnormal).toBe(true);
    await plugin?.checkNow();
    await new Promise((r) => setTimeout(r, 200));
    await plugin?.checkNow();
    expect((await sh(`cat ${c}/f.txt`)).stdout).toBe('hello\n');
    const s = await client.call<{ volumeCondition: { abnormal: boolean } }>(
      client.node,
      'NodeGetVolumeStats',
      { volumeId: pvc, volumePath: c },
    );
    expect(s.volumeCondition.abnormal).toBe(false);
    expect(Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid).not.toBe(pid);
    await client.call(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: c });
    expect(mountsUnder(dir)).toEqual([]);
  }, 90_000);

  it('a killed mount worker is replaced under the pods: the published path keeps working', async () => {
    const d = join(dir, 'pods', 'd', 'mount');
    await client.call(client.node, 'NodePublishVolume', publishReq(d));
    expect((await sh(`echo kept > ${d}/w.txt && cat ${d}/w.txt`)).stdout).toBe('kept\n');
    const sup = Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid ?? 0;
    const worker = childrenOf(sup).find((p) => cmdlineOf(p).includes('csi-mount'));
    expect(worker, 'the supervisor runs a csi-mount worker').toBeDefined();
    process.kill(worker!, 'SIGKILL');
    // A program that comes now waits for the new worker instead of failing (no ENOTCONN).
    const r = await sh(`cat ${d}/w.txt && echo more >> ${d}/w.txt && cat ${d}/w.txt`);
    expect(r.stdout).toBe('kept\nkept\nmore\n');
    const s = await client.call<{ volumeCondition: { abnormal: boolean } }>(
      client.node,
      'NodeGetVolumeStats',
      { volumeId: pvc, volumePath: d },
    );
    expect(s.volumeCondition.abnormal).toBe(false);
    expect(Object.values(readState(stateDir)?.mounts ?? {})[0]?.pid).toBe(sup);
    expect(childrenOf(sup).find((p) => cmdlineOf(p).includes('csi-mount'))).not.toBe(worker);
    await client.call(client.node, 'NodeUnpublishVolume', { volumeId: pvc, targetPath: d });
    expect(mountsUnder(dir)).toEqual([]);
  }, 90_000);

  it('DeleteVolume removes the sub-directory (and is idempotent)', async () => {
    const del = { volumeId: pvc, secrets: { metaurl: vol.metaUrl } };
    await client.call(client.controller, 'DeleteVolume', del);
    await client.call(client.controller, 'DeleteVolume', del);
    expect(
      await client.code(client.controller, 'ValidateVolumeCapabilities', {
        volumeId: pvc,
        volumeCapabilities: [capability()],
        secrets: { metaurl: vol.metaUrl },
      }),
    ).toBe(grpc.status.NOT_FOUND);
    expect(
      await client.code(client.controller, 'DeleteVolume', {
        volumeId: 'static-pv',
        secrets: { metaurl: vol.metaUrl },
      }),
    ).toBe(grpc.status.OK);
  }, 60_000);
});
