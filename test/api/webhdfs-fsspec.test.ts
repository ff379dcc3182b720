/**
 * The gateway driven by a WebHDFS client we did not write: Debian's python3-fsspec
 * (2022.11, with requests), run with /usr/bin/python3 against a gateway on a free
 * 127.0.0.1 port. The script asserts on its side; here we check its exit and results and
 * look at the volume directly through the API.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from './gateway-fixture.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./fixtures/fsspec_webhdfs.py', import.meta.url));

async function fsspecAvailable(): Promise<boolean> {
  if (!existsSync(PY)) return false;
  return run(PY, ['-c', 'import fsspec.implementations.webhdfs, requests']).then(
    () => true,
    () => false,
  );
}

describe.runIf(await fsspecAvailable())('fsspec WebHDFS client against the gateway', () => {
  let fx: GatewayFixture;
  beforeAll(async () => {
    fx = await startGatewayFixture({ meta: 'sqlite', storage: 'file' });
    await fx.fs.mkdirs('/py/big');
    await fx.fs.setOwner('/py', 'alice', 'alice');
    for (let i = 0; i < 1500; i++) await (await fx.fs.create(`/py/big/e${i}`)).close();
  });
  afterAll(async () => fx?.close());

  it('put/get/ls/info/mv/rm/mkdir/append, range reads, awkward names, large listing', async () => {
    const { stdout } = await run(PY, [SCRIPT, '127.0.0.1', String(fx.gw.port), '/py'], {
      timeout: 120_000,
      maxBuffer: 1 << 20,
    }).catch((e: unknown) => {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`fsspec script failed:\n${err.stderr ?? ''}\n${err.stdout ?? ''}`);
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as {
      bigDirCount: number;
      summary: Record<string, number>;
      home: string;
    };
    expect(out.bigDirCount).toBe(1500);
    expect(out.home).toBe('/user/alice');
    expect(out.summary).toEqual({ directoryCount: 2, fileCount: 2, length: 3 * 1024 * 1024 + 4321 });
    const st = await fx.fs.getFileStatus('/py/d1/big.bin');
    expect([st.length, st.owner, st.permission]).toEqual([3 * 1024 * 1024 + 4321, 'alice', 0o600]);
    expect(await fx.fs.exists('/py/d2')).toBe(false);
    const ops = new Set(fx.log.map((e) => e.op));
    for (const op of [
      'CREATE',
      'APPEND',
      'OPEN',
      'LISTSTATUS',
      'GETFILESTATUS',
      'RENAME',
      'DELETE',
      'MKDIRS',
      'GETCONTENTSUMMARY',
      'GETHOMEDIRECTORY',
      'SETPERMISSION',
    ]) {
      expect(ops, op).toContain(op);
    }
    expect(fx.log.filter((e) => e.status >= 500)).toEqual([]);
  });
});
