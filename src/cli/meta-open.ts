/**
 * The one way CLI commands reach a metadata engine.
 *
 * Password: a Redis URL without one takes the password from the environment (env-secrets.ts:
 * REDIS_PASSWORD, META_PASSWORD, META_PASSWORD_FILE), a postgres:// or mysql:// URL from META_PASSWORD or
 * META_PASSWORD_FILE. A password in the URL always wins. Engines without passwords (sqlite3, mem) never read the file.
 *
 * Existence: commands that only read or use a volume (status, dump, fsck, gc, quota, config,
 * mount, gateway) open with `mustExist`, so a mistyped sqlite3:// path is reported as a
 * missing database instead of silently creating an empty file. Only format and load create.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { openMeta } from '../meta/base-meta.js';
import type { MetaOptions } from '../meta/core.js';
import type { EngineOptions, MetaEngine } from '../meta/engine.js';
import type { Meta } from '../meta/meta.js';
import { metaScheme, openEngine } from '../meta/registry.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../vfs/runtime.js';
import { metaPasswordFromEnv, sqlMetaPasswordFromEnv } from './env-secrets.js';
import { CliError, type CliIo } from './io.js';

const PASSWORD_SCHEMES = new Set(['redis', 'rediss', 'unix']);
const SQL_PASSWORD_SCHEMES = new Set(['postgres', 'mysql']);

/** Engine options for `url` as the CLI builds them (password only for engines that use one). */
export function cliEngineOptions(url: string, env: CliIo['env']): EngineOptions {
  const scheme = metaScheme(url);
  let password: string | undefined;
  if (PASSWORD_SCHEMES.has(scheme)) password = metaPasswordFromEnv(env);
  else if (SQL_PASSWORD_SCHEMES.has(scheme)) password = sqlMetaPasswordFromEnv(env);
  return password === undefined ? {} : { password };
}

export interface OpenCliEngineOptions {
  /** Refuse (creating nothing) when the database does not exist yet. */
  mustExist: boolean;
}

/** Throws a one-line CliError when a file-backed database is missing. */
export async function checkDatabaseExists(url: string): Promise<void> {
  if (metaScheme(url) !== 'sqlite3') return;
  // Loaded lazily like the driver itself: a redis:// user never loads better-sqlite3.
  const { parseSqliteUrl } = await import('../meta/sql/sqlite-engine.js');
  const { path } = parseSqliteUrl(url);
  if (!existsSync(path))
    throw new CliError(`database ${path} does not exist (no volume there; create one with 'tjfs format')`);
}

/** Path of a sqlite3:// database that does not exist yet (format/load would create it), else undefined. */
export async function sqliteFileToCreate(url: string): Promise<string | undefined> {
  if (metaScheme(url) !== 'sqlite3') return undefined;
  const { parseSqliteUrl } = await import('../meta/sql/sqlite-engine.js');
  const { path } = parseSqliteUrl(url);
  return existsSync(path) ? undefined : path;
}

/** Removes a SQLite database file with its WAL and shared-memory files (after a failed create). */
export async function removeSqliteFiles(path: string): Promise<void> {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) await unlink(f).catch(() => undefined);
}

export async function openCliEngine(url: string, io: CliIo, opts: OpenCliEngineOptions): Promise<MetaEngine> {
  if (opts.mustExist) await checkDatabaseExists(url);
  return openEngine(url, cliEngineOptions(url, io.env));
}

/** Opens a formatted volume's metadata (no session) for a CLI command; never creates a database. */
export async function openCliMeta(url: string, io: CliIo, opts: MetaOptions = {}): Promise<Meta> {
  const engine = await openCliEngine(url, io, { mustExist: true });
  try {
    return await openMeta(url, { ...opts, engine });
  } catch (e) {
    await engine.close();
    throw e;
  }
}

/** Opens a runtime (session, object store, caches) of an existing volume for a CLI command. */
export async function openCliRuntime(url: string, io: CliIo, opts: RuntimeOptions = {}): Promise<Runtime> {
  await checkDatabaseExists(url);
  const retry = opts.ioRetries === undefined ? {} : { retry: { retries: opts.ioRetries } }; // --io-retries
  const engine = await openEngine(url, { ...cliEngineOptions(url, io.env), ...retry });
  return openRuntime(url, { env: io.env, ...opts, engine });
}
