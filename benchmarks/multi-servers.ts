/**
 * Metadata servers for the many-clients benchmark: a private server per engine (the test
 * helpers' redis-server, Redis Cluster of 3 masters + 3 replicas, PostgreSQL, MariaDB),
 * or a SQLite file. `startEngineServer` rejects with the reason when the engine cannot run
 * here (binary missing, not root), so the benchmark reports it as skipped.
 * Invariants: `stop()` stops what was started; the helpers kill forgotten servers on exit.
 */
import { join } from 'node:path';
import { mariadbSkipReason, startMariadb } from '../test/helpers/mariadb-server.js';
import { pgSkipReason, startPg } from '../test/helpers/pg-server.js';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { startRedis } from '../test/helpers/redis-server.js';

export type EngineName = 'sqlite3' | 'redis' | 'postgres' | 'mysql' | 'redis-cluster';

export interface EngineServer {
  /** The meta URL of an empty database. */
  url: string;
  stop(): Promise<void>;
}

export async function startEngineServer(engine: EngineName, dir: string): Promise<EngineServer> {
  switch (engine) {
    case 'sqlite3':
      return { url: `sqlite3://${join(dir, 'meta.db')}`, stop: async () => undefined };
    case 'redis': {
      const s = await startRedis();
      return { url: s.url, stop: () => s.stop() };
    }
    case 'redis-cluster': {
      const s = await startRedisCluster();
      return { url: s.url, stop: () => s.stop() };
    }
    case 'postgres': {
      const why = pgSkipReason();
      if (why !== undefined) throw new Error(why);
      const s = await startPg();
      await s.sql('CREATE DATABASE tjfs');
      return { url: `${s.baseUrl}tjfs`, stop: () => s.stop() };
    }
    case 'mysql': {
      const why = mariadbSkipReason();
      if (why !== undefined) throw new Error(why);
      const s = await startMariadb();
      await s.sql('CREATE DATABASE tjfs');
      return { url: `${s.baseUrl}tjfs`, stop: () => s.stop() };
    }
  }
}
