/**
 * Raw access to a mysql:// volume's database, bypassing the engine: one mysql2 connection
 * with the engine's own connection options (so BIGINT columns come back as bigint and
 * VARBINARY/BLOB as Buffers). Compatibility tests read the exact stored rows through it.
 */
import mysql from 'mysql2/promise';
import { poolOptions } from '../../src/meta/sql/mysql-engine.js';
import { parseMysqlUrl } from '../../src/meta/sql/mysql-url.js';

export async function rawMysql(url: string): Promise<mysql.Connection> {
  const {
    connectionLimit: _l,
    maxIdle: _m,
    idleTimeout: _i,
    waitForConnections: _w,
    queueLimit: _q,
    ...o
  } = poolOptions(parseMysqlUrl(url), {});
  return mysql.createConnection(o);
}
