/**
 * Engine registry keyed by URL scheme; drivers are loaded lazily so that, say, a
 * sqlite3:// user never loads ioredis.
 */
import { FsError, Errno } from '../base/errno.js';
import type { EngineOptions, MetaEngine } from './engine.js';
import { redactSecrets } from '../util/redact.js';

type Loader = () => Promise<(url: string, options: EngineOptions) => Promise<MetaEngine>>;

const loaders: Record<string, Loader> = {
  redis: async () => (await import('./redis/redis-engine.js')).openRedisEngine,
  rediss: async () => (await import('./redis/redis-engine.js')).openRedisEngine,
  unix: async () => (await import('./redis/redis-engine.js')).openRedisEngine,
  sqlite3: async () => (await import('./sql/sqlite-engine.js')).openSqliteEngine,
  postgres: async () => (await import('./sql/pg-engine.js')).openPgEngine,
  mysql: async () => (await import('./sql/mysql-engine.js')).openMysqlEngine,
  mem: async () => (await import('./mem/mem-engine.js')).openMemEngine,
};

export function metaScheme(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  if (!m || !m[1]) {
    throw new FsError(Errno.EINVAL, {
      message: `invalid meta URL '${redactSecrets(url)}': expected scheme://..., e.g. sqlite3://myjfs.db or redis://host:6379/1`,
    });
  }
  return m[1].toLowerCase();
}

export async function openEngine(url: string, options: EngineOptions = {}): Promise<MetaEngine> {
  const scheme = metaScheme(url);
  const load = loaders[scheme];
  if (!load) {
    throw new FsError(Errno.EINVAL, {
      message: `unsupported meta URL scheme '${scheme}://' (supported: ${Object.keys(loaders).join(', ')})`,
    });
  }
  const open = await load();
  return open(url, options);
}
