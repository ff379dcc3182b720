/**
 * Helpers for CSI tests: a real @grpc/grpc-js client over the plugin's unix socket (loaded
 * from the same csi.proto), a formatted SQLite + file volume in a short temp dir, child-process
 * file access (never touch FUSE paths synchronously from the test thread), and a cleanup that
 * always leaves no mounts or daemons behind (binds and FUSE mounts under the temp dir are
 * lazily unmounted, daemons named in state files are killed).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { main } from '../../src/cli/main.js';
import { loadCsi } from '../../src/csi/csi-proto.js';
import { isOurDaemon } from '../../src/csi/daemon-launcher.js';
import { parseMountInfo } from '../../src/csi/mount-info.js';
import type { PluginState } from '../../src/csi/state-store.js';
import type { Logger } from '../../src/util/logger.js';

export const quietLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

type UnaryFn = (req: object, cb: (e: grpc.ServiceError | null, res: unknown) => void) => void;

export class CsiClient {
  readonly identity: grpc.Client;
  readonly node: grpc.Client;
  readonly controller: grpc.Client;

  constructor(readonly socket: string) {
    const csi = loadCsi();
    const addr = `unix://${socket}`;
    const creds = grpc.credentials.createInsecure();
    this.identity = new csi.Identity(addr, creds);
    this.node = new csi.Node(addr, creds);
    this.controller = new csi.Controller(addr, creds);
  }

  call<T = Record<string, unknown>>(client: grpc.Client, method: string, req: object = {}): Promise<T> {
    // cast: loadPackageDefinition adds the service's methods to the client at run time.
    const fn = (client as unknown as Record<string, UnaryFn>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, (e, res) => (e ? reject(e) : resolve(res as T)));
    });
  }

  /** The gRPC status code of a call: 0 when it succeeds. */
  async code(client: grpc.Client, method: string, req: object = {}): Promise<number> {
    try {
      await this.call(client, method, req);
      return grpc.status.OK;
    } catch (e) {
      return (e as grpc.ServiceError).code;
    }
  }

  /** Calls a method the proto does not declare (raw bytes): to check UNIMPLEMENTED answers. */
  rawCode(path: string): Promise<number> {
    return new Promise((resolve) => {
      this.node.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e ? e.code : grpc.status.OK),
      );
    });
  }

  close(): void {
    this.identity.close();
    this.node.close();
    this.controller.close();
  }
}

export interface TestVolume {
  dir: string;
  metaUrl: string;
}

const sink = (): Writable =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

export async function formatVolume(dir: string, name = 'csivol'): Promise<TestVolume> {
  const metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  const code = await main(
    ['format', metaUrl, name, '--storage', 'file', '--bucket', `${join(dir, 'bucket')}/`],
    { stdout: sink(), stderr: sink(), env: {} },
  );
  if (code !== 0) throw new Error(`format failed: ${code}`);
  return { dir, metaUrl };
}

/** A short temp dir (unix socket paths must stay under ~108 bytes). */
export function shortTempDir(prefix: string): string {
  return mkdtempSync(join('/tmp', prefix));
}

export function mountsUnder(
  dir: string,
): { mountPoint: string; root: string; fsType: string; device: string }[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter(
    (r) => r.mountPoint === dir || r.mountPoint.startsWith(`${dir}/`),
  );
}

/** Runs a shell command in a child process (FUSE paths are only touched from children). */
export function sh(
  script: string,
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { timeout: timeoutMs, encoding: 'utf8' }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function readState(stateDir: string): PluginState | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as PluginState;
  } catch {
    return undefined;
  }
}

/** Never throws: lazily unmounts everything under `dir`, kills daemons from its state files, removes it. */
export function cleanupDir(dir: string, stateDirs: readonly string[]): void {
  for (const sd of stateDirs) {
    for (const m of Object.values(readState(sd)?.mounts ?? {})) {
      if (isOurDaemon(m.pid, m.mountPoint)) {
        try {
          process.kill(m.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }
  for (let i = 0; i < 5; i++) {
    const ms = mountsUnder(dir).reverse();
    if (ms.length === 0) break;
    for (const m of ms) spawnSync('umount', ['-l', m.mountPoint]);
  }
  if (mountsUnder(dir).length > 0) return; // never recurse into a live mount
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}
