/**
 * volumes/ manifests validated by parsing: every object has apiVersion/kind/metadata.name,
 * the driver name matches the plugin's, the plugin containers run `tjfs csi` with flags that
 * `tjfs csi --help` knows, node plugin wiring (privileged, Bidirectional propagation,
 * registrar) is in place, and every mountOptions list is accepted by the plugin.
 * YAML is parsed with js-yaml (a devDependency).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DRIVER_NAME } from '../../src/csi/csi-plugin.js';
import { planMount } from '../../src/csi/mount-options.js';

// cast: js-yaml ships no types; loadAll parses a multi-document YAML string.
const yaml = createRequire(import.meta.url)('js-yaml') as { loadAll(text: string): unknown[] };

type Obj = Record<string, unknown>;
const root = join(import.meta.dirname, '..', '..', 'volumes');
const files = [
  ...readdirSync(root).filter((f) => f.endsWith('.yaml')),
  ...readdirSync(join(root, 'profiles')).map((f) => join('profiles', f)),
];
const docs: { file: string; obj: Obj }[] = files.flatMap((file) =>
  yaml
    .loadAll(readFileSync(join(root, file), 'utf8'))
    .filter((d): d is Obj => d !== null && typeof d === 'object')
    .map((obj) => ({ file, obj })),
);
const get = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined),
    o,
  );
const ofKind = (kind: string): Obj[] => docs.filter((d) => d.obj['kind'] === kind).map((d) => d.obj);
const containers = (o: Obj): Obj[] =>
  (get(o, 'spec', 'template', 'spec', 'containers') as Obj[] | undefined) ?? [];

async function csiHelp(): Promise<string> {
  let text = '';
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  await main(['csi', '--help'], { stdout: w, stderr: w, env: {} });
  return text;
}

describe('volumes/ manifests', () => {
  it('parse, and every object has apiVersion, kind and metadata.name', () => {
    expect(docs.length).toBeGreaterThanOrEqual(15);
    for (const { file, obj } of docs) {
      expect(typeof obj['apiVersion'], file).toBe('string');
      expect(typeof obj['kind'], file).toBe('string');
      expect(typeof get(obj, 'metadata', 'name'), `${file} ${String(obj['kind'])}`).toBe('string');
    }
    const kinds = new Set(docs.map((d) => d.obj['kind']));
    for (const k of [
      'CSIDriver',
      'DaemonSet',
      'StatefulSet',
      'ClusterRole',
      'ClusterRoleBinding',
      'ServiceAccount',
      'StorageClass',
      'Secret',
      'PersistentVolume',
      'PersistentVolumeClaim',
      'Pod',
    ]) {
      expect(kinds.has(k), k).toBe(true);
    }
  });

  it('use the plugin driver name everywhere', () => {
    const driver = ofKind('CSIDriver')[0];
    expect(get(driver, 'metadata', 'name')).toBe(DRIVER_NAME);
    expect(get(driver, 'spec', 'attachRequired')).toBe(false);
    expect(get(driver, 'spec', 'fsGroupPolicy')).toBe('None');
    for (const sc of ofKind('StorageClass')) expect(sc['provisioner']).toBe(DRIVER_NAME);
    for (const pv of ofKind('PersistentVolume')) expect(get(pv, 'spec', 'csi', 'driver')).toBe(DRIVER_NAME);
    expect(get(ofKind('Secret')[0], 'stringData', 'metaurl')).toMatch(/^[a-z0-9]+:\/\//);
  });

  it('run `tjfs csi` with flags its --help knows, on the socket the sidecars use', async () => {
    const help = await csiHelp();
    const workloads = [...ofKind('DaemonSet'), ...ofKind('StatefulSet')];
    expect(workloads).toHaveLength(2);
    const images = new Set<string>();
    for (const w of workloads) {
      const plugin = containers(w).find((c) => c['name'] === 'tjfs-plugin');
      expect(plugin, String(get(w, 'metadata', 'name'))).toBeDefined();
      images.add(String(plugin?.['image']));
      const args = (plugin?.['args'] as string[] | undefined) ?? [];
      expect(args[0]).toBe('csi');
      for (const a of args.slice(1)) {
        const flag = a.split('=')[0] ?? '';
        expect(help, flag).toContain(`${flag} `);
      }
      expect(args.find((a) => a.startsWith('--mode='))?.slice(7)).toMatch(/^(node|controller|all)$/);
      const env = (plugin?.['env'] as { name: string; value?: string }[] | undefined) ?? [];
      const socket = env.find((e) => e.name === 'CSI_ENDPOINT')?.value?.replace(/^unix:\/\//, '') ?? '';
      expect(socket).toMatch(/\.sock$/);
      for (const side of containers(w).filter((c) => c !== plugin)) {
        const address = ((side['args'] as string[]) ?? [])
          .find((a) => a.startsWith('--csi-address='))
          ?.slice(14);
        const resolved =
          address === '$(ADDRESS)'
            ? ((side['env'] as { name: string; value: string }[]) ?? []).find((e) => e.name === 'ADDRESS')
                ?.value
            : address;
        expect(resolved, String(side['name'])).toBe(socket);
      }
    }
    expect([...images]).toEqual(['tjfs:0.1.0']);
    expect(readFileSync(join(root, '..', 'Dockerfile'), 'utf8')).toMatch(
      /ENTRYPOINT \[.*"node", "\/app\/dist\/src\/cli\/bin\.js"\]/,
    );
  });

  it('node DaemonSet is privileged with Bidirectional propagation and a registrar', () => {
    const ds = ofKind('DaemonSet')[0] as Obj;
    const plugin = containers(ds).find((c) => c['name'] === 'tjfs-plugin') as Obj;
    expect(get(plugin, 'securityContext', 'privileged')).toBe(true);
    const mounts = plugin['volumeMounts'] as { mountPath: string; mountPropagation?: string }[];
    expect(mounts.find((m) => m.mountPath === '/var/lib/kubelet')?.mountPropagation).toBe('Bidirectional');
    expect(mounts.find((m) => m.mountPath === '/var/lib/tjfs')?.mountPropagation).toBe('Bidirectional');
    const reg = containers(ds).find((c) => c['name'] === 'node-driver-registrar') as Obj;
    expect(reg['args']).toContain(
      `--kubelet-registration-path=/var/lib/kubelet/plugins/${DRIVER_NAME}/csi.sock`,
    );
    const provisioner = containers(ofKind('StatefulSet')[0] as Obj).find(
      (c) => c['name'] === 'csi-provisioner',
    );
    expect(provisioner).toBeDefined();
  });

  it('every mountOptions list is accepted by the node plugin', () => {
    const lists = [
      ...ofKind('StorageClass').map((s) => s['mountOptions']),
      ...ofKind('PersistentVolume').map((p) => get(p, 'spec', 'mountOptions')),
    ];
    for (const l of lists.filter((x): x is string[] => Array.isArray(x)))
      expect(planMount(l).ignored).toEqual([]);
    const profiles = docs.filter((d) => d.file.startsWith('profiles'));
    expect(new Set(profiles.map((d) => get(d.obj, 'metadata', 'labels', 'tjfs.io/profile')))).toEqual(
      new Set(['etl-logs', 'spark-checkpoints', 'data-lake', 'model-training']),
    );
  });
});
