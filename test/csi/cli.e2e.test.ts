/**
 * `tjfs csi` as a process (dist/src/cli/bin.js, run `npm run build` first): serves GetPluginInfo
 * on the socket, stops cleanly on SIGTERM (exit 0, socket removed), and refuses to start
 * without an endpoint.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBinPath } from '../../src/csi/daemon-launcher.js';
import { CsiClient, cleanupDir, shortTempDir } from './csi-harness.js';

const PYTHON = '/usr/bin/python3';
const PY_CLIENT = `
import sys, grpc
ch = grpc.insecure_channel('unix://' + sys.argv[1])
info = ch.unary_unary('/csi.v1.Identity/GetPluginInfo')(b'', timeout=10)
try:
    ch.unary_unary('/csi.v1.Controller/CreateVolume')(b'', timeout=10)
    code = 'OK'
except grpc.RpcError as e:
    code = e.code().name
print(info.hex(), code)
`;

function pythonGrpc(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import grpc'], { timeout: 10_000 }).status === 0;
}

/** The first length-delimited field number `field` of a protobuf message, as a string. */
function decodeString(buf: Buffer, field: number): string | undefined {
  let i = 0;
  while (i < buf.length) {
    const key = buf[i++] ?? 0;
    const len = buf[i++] ?? 0; // short messages: one-byte key and length
    if (key === ((field << 3) | 2)) return buf.subarray(i, i + len).toString();
    i += len;
  }
  return undefined;
}

describe.skipIf(!existsSync(cliBinPath()))('tjfs csi process', () => {
  const dir = shortTempDir('tcsc-');
  afterAll(() => cleanupDir(dir, []));

  it('serves on the socket and exits 0 on SIGTERM', async () => {
    const sock = join(dir, 'csi.sock');
    const child = spawn(
      process.execPath,
      [cliBinPath(), 'csi', '--mode=controller', '--node-id=n1', '--state-dir', join(dir, 's')],
      {
        env: { ...process.env, CSI_ENDPOINT: `unix://${sock}` },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      const client = new CsiClient(sock);
      const info = await client.call<{ name: string }>(client.identity, 'GetPluginInfo');
      expect(info.name).toBe('csi.tjfs.io');
      const caps = await client.call<{ capabilities: unknown[] }>(client.identity, 'GetPluginCapabilities');
      expect(caps.capabilities.length).toBeGreaterThan(0);
      client.close();
      if (pythonGrpc()) {
        // An independent client (Debian python3-grpcio, no generated stubs): raw protobuf bytes.
        const py = spawnSync(PYTHON, ['-c', PY_CLIENT, sock], { encoding: 'utf8', timeout: 20_000 });
        expect(py.status, py.stderr).toBe(0);
        const [infoHex, createCode] = py.stdout.trim().split(' ');
        expect(decodeString(Buffer.from(infoHex ?? '', 'hex'), 1)).toBe('csi.tjfs.io');
        expect(createCode).toBe('INVALID_ARGUMENT');
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(sock)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('fails without an endpoint', async () => {
    const child = spawn(process.execPath, [cliBinPath(), 'csi'], {
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toContain('--endpoint');
  }, 30_000);
});
