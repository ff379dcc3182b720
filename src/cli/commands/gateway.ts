/**
 * `tjfs gateway webhdfs META --address HOST:PORT`: serves a volume over WebHDFS REST so
 * Spark/Hive/Iceberg (`webhdfs://`), Python (fsspec, pyarrow) and curl reach it without
 * FUSE. Runs in the foreground until SIGINT/SIGTERM (or `stop` in tests), then closes the
 * listener, flushes open files and the session.
 *
 * Invariants: the token comes from --token or TJFS_GATEWAY_TOKEN and is never printed;
 * a non-loopback address needs a token unless --allow-insecure.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { HdfsFileSystem } from '../../api/hdfs.js';
import { UserDb } from '../../api/users.js';
import { startWebHdfsGateway, type AccessEntry } from '../../gateway/webhdfs.js';
import { addCacheFlags, cacheRuntimeOptions, type CacheFlags } from '../cache-flags.js';
import { secretFromEnv } from '../env-secrets.js';
import { CliError, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { createLogger } from '../logger.js';
import { openCliEngine } from '../meta-open.js';
import { redactSecrets } from '../../util/redact.js';
import { serveMetrics } from '../metrics-server.js';

export interface GatewayFlags extends CacheFlags {
  address: string;
  token?: string;
  usersMap?: string;
  defaultUser: string;
  unknownUser: string;
  superuser?: string[];
  checksum?: boolean;
  advertiseUrl?: string;
  allowInsecure?: boolean;
  maxStreams: string;
  subdir?: string;
  log?: string;
  accessLog?: boolean;
  metrics?: string;
}

export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw new CliError(`invalid --address '${address}' (want HOST:PORT, e.g. 127.0.0.1:9870)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export async function runGateway(
  metaUrl: string,
  f: GatewayFlags,
  io: CliIo,
  stop?: AbortSignal,
): Promise<number> {
  const { host, port } = parseAddress(f.address);
  const cache = cacheRuntimeOptions(f);
  const maxDataStreams = parseIntArg(f.maxStreams, '--max-streams');
  const unknownUser =
    f.unknownUser === 'nobody' ? 'nobody' : f.unknownUser === 'reject' ? 'reject' : undefined;
  if (!unknownUser) throw new CliError(`--unknown-user must be 'reject' or 'nobody'`);
  const token = f.token ?? secretFromEnv(io.env, ['TJFS_GATEWAY_TOKEN']);
  let mapping: string | undefined;
  if (f.usersMap) {
    try {
      mapping = readFileSync(resolve(io.cwd ?? process.cwd(), f.usersMap), 'utf8');
    } catch (e) {
      throw new CliError(`cannot read --users-map ${f.usersMap}: ${(e as Error).message}`);
    }
  }
  const users = UserDb.system(mapping);
  const log = createLogger(f.log);
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  const fs = await HdfsFileSystem.open(metaUrl, {
    engine,
    uid: 0,
    gid: 0,
    users,
    ...cache,
    mountPoint: `webhdfs://${f.address}`,
    logger: log,
    ...(f.subdir ? { subdir: f.subdir } : {}),
  });
  const obs = fs.vol.vfs.obs;
  const metrics = await serveMetrics(
    f.metrics,
    () => ({ contentType: obs.registry.contentType, render: () => obs.metrics() }),
    (msg) => log.warn(msg),
  ).catch(async (e: unknown) => {
    await fs.close();
    throw e;
  });
  try {
    const gw = await startWebHdfsGateway({
      fs,
      host,
      port,
      users,
      unknownUser,
      defaultUser: f.defaultUser,
      superusers: f.superuser ?? ['root'],
      checksum: f.checksum === true,
      maxDataStreams,
      allowInsecure: f.allowInsecure === true,
      ...(token ? { token } : {}),
      ...(f.advertiseUrl ? { advertiseUrl: f.advertiseUrl } : {}),
      ...(f.accessLog ? { log: (e: AccessEntry) => log.info?.('webhdfs', { ...e }) } : {}),
    }).catch((e: unknown) => {
      throw new CliError(`gateway: ${(e as Error).message}`);
    });
    out(
      io,
      `tjfs: WebHDFS gateway for ${fs.vol.runtime.format.Name} (${redactSecrets(metaUrl)}) at ${gw.url}/webhdfs/v1/ (webhdfs://${gw.host}:${gw.port})${token ? ', token required' : ''}${metrics ? `, metrics at http://${metrics.address}/metrics` : ''}`,
    );
    await new Promise<void>((done) => {
      const finish = (): void => {
        process.off('SIGINT', finish);
        process.off('SIGTERM', finish);
        done();
      };
      if (stop) {
        if (stop.aborted) return finish();
        stop.addEventListener('abort', finish, { once: true });
      } else {
        process.once('SIGINT', finish);
        process.once('SIGTERM', finish);
      }
    });
    await gw.close();
    return 0;
  } finally {
    await metrics?.close();
    await fs.close();
  }
}

export function registerGateway(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  const gw = program
    .command('gateway')
    .description('serve a volume over a network protocol')
    .addHelpText('after', helpExamples('tjfs gateway webhdfs sqlite3://myjfs.db --address 127.0.0.1:9870'));
  const webhdfs = gw
    .command('webhdfs')
    .description('serve a volume over WebHDFS REST (webhdfs://, fsspec, curl)')
    .argument('<META>', 'metadata URL')
    .option('--address <host:port>', 'listen address', '127.0.0.1:9870')
    .option(
      '--token <secret>',
      'shared token clients pass as delegation=<token> or Authorization: Bearer (env TJFS_GATEWAY_TOKEN); required off loopback',
    )
    .option(
      '--users-map <file>',
      "user map: lines 'name:uid:gid[:gid,...]' and '@group:gid' (before /etc/passwd, /etc/group)",
    )
    .option('--default-user <name>', 'user for requests without user.name', 'dr.who')
    .option('--unknown-user <policy>', "unknown user.name: 'reject' (403) or 'nobody'", 'reject')
    .option('--superuser <names...>', 'users allowed to impersonate with doas', ['root'])
    .option('--checksum', 'serve GETFILECHECKSUM (MD5-of-MD5-of-CRC32C; reads the whole file)')
    .option('--advertise-url <url>', 'base URL used in redirects (default: the Host the client used)')
    .option('--allow-insecure', 'allow a non-loopback address without --token')
    .option('--max-streams <n>', 'concurrent OPEN/CREATE/APPEND data streams', '64')
    .option('--subdir <path>', 'serve a sub-directory of the volume as the root')
    .option('--log <file>', 'log file (default stderr)')
    .option(
      '--metrics <addr>',
      'Prometheus metrics address (default 127.0.0.1:9567, or a free port when taken)',
    )
    .option('--access-log', 'log every request (method, op, path, user, status, bytes, ms)');
  addCacheFlags(webhdfs)
    .addHelpText(
      'after',
      helpExamples(
        'tjfs gateway webhdfs sqlite3://myjfs.db --address 127.0.0.1:9870 --cache-dir memory --cache-size 1G',
        'TJFS_GATEWAY_TOKEN=s3cret tjfs gateway webhdfs redis://10.0.0.5:6379/1 --address 0.0.0.0:9870 --cache-size 10G',
      ),
    )
    .action((meta: string, flags: GatewayFlags) => {
      setExit(runGateway(meta, flags, io));
    });
}
