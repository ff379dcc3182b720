/**
 * Shared set-up for gateway tests: a formatted volume, an HdfsFileSystem that owns it, a
 * WebHDFS gateway on a free 127.0.0.1 port, a users map (alice 1000, bob 1001), and a raw
 * HTTP helper that sends the request target verbatim (fetch would normalise '..').
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { HdfsFileSystem } from '../../src/api/hdfs.js';
import { UserDb } from '../../src/api/users.js';
import {
  startWebHdfsGateway,
  type AccessEntry,
  type WebHdfsGateway,
  type WebHdfsGatewayOptions,
} from '../../src/gateway/webhdfs.js';
import { formatTestVolume, type TestVolume, type TestVolumeSpec } from '../helpers/api-volume.js';

export const USERS_MAP = 'alice:1000:1000:2000\nbob:1001:1001\n@alice:1000\n@bob:1001\n@analysts:2000\n';

export interface GatewayFixture {
  tv: TestVolume;
  fs: HdfsFileSystem;
  gw: WebHdfsGateway;
  log: AccessEntry[];
  close(): Promise<void>;
}

export async function startGatewayFixture(
  spec: TestVolumeSpec,
  extra: Partial<WebHdfsGatewayOptions> = {},
): Promise<GatewayFixture> {
  const tv = await formatTestVolume(spec);
  const users = new UserDb({
    passwd: readFileSync('/etc/passwd', 'utf8'),
    group: readFileSync('/etc/group', 'utf8'),
    mapping: USERS_MAP,
  });
  const fs = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0, users });
  const log: AccessEntry[] = [];
  const gw = await startWebHdfsGateway({ fs, port: 0, users, log: (e) => log.push(e), ...extra });
  return {
    tv,
    fs,
    gw,
    log,
    async close() {
      await gw.close();
      await fs.close();
      await tv.cleanup();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json(): Record<string, unknown>;
  sawContinue: boolean;
}

/** Sends `target` (path + query) exactly as given. */
export function raw(
  base: string,
  method: string,
  target: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    let sawContinue = false;
    const req = request(
      { host: u.hostname, port: u.port, method, path: target, headers: opts.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          const text = body.toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
            sawContinue,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const expectContinue = /100-continue/i.test(opts.headers?.['Expect'] ?? '');
    if (expectContinue) {
      req.on('continue', () => {
        sawContinue = true;
        req.end(opts.body);
      });
      req.flushHeaders();
    } else req.end(opts.body);
  });
}
