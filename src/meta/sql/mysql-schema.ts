/**
 * MySQL/MariaDB DDL of the JuiceFS tables (docs/FORMAT.md §6.2) as Go's xorm (1.0.x, the
 * version JuiceFS pins) creates them.
 *
 * Design: the column types are what xorm's mysql dialect makes of JuiceFS's structs in
 * pkg/meta/sql.go: Go int..int32 and uint..uint32 become INT, int64/uint64 BIGINT(20) (xorm
 * gives BIGINT a display width of 20), []byte `blob` BLOB, `varbinary(n)` VARBINARY(n),
 * string VARCHAR(255), `text` TEXT, an int64 `bigserial` key BIGINT(20) AUTO_INCREMENT and
 * a uint32 `autoincr` key INT AUTO_INCREMENT. Single-column primary keys are inline,
 * composite ones a table constraint; fields without `notnull` are NULL. No ENGINE and no
 * charset are named (JuiceFS's DSN sets none): the database's defaults apply. The index
 * names are xorm's (`UQE_<table>_<name>` / `IDX_<table>_<name>`); they are written inside
 * CREATE TABLE because MySQL has no CREATE INDEX IF NOT EXISTS, which gives the same
 * indexes. The column list is the PostgreSQL one (pg-schema.ts) with MySQL's type names, so
 * the two cannot drift apart.
 * Invariants: idempotent (IF NOT EXISTS), so a database formatted by Go is left as it is.
 */
import { pgSchemaColumns } from './pg-schema.js';

/** Go struct field sizes that PostgreSQL's types do not carry (VARBINARY lengths). */
const VARBINARY: Record<string, string> = {
  'edge.name': 'VARBINARY(255)',
  'symlink.target': 'VARBINARY(4096)',
};

function mysqlType(table: string, col: string, pgType: string): string {
  const vb = VARBINARY[`${table}.${col}`];
  if (vb !== undefined) return vb;
  switch (pgType) {
    case 'BIGSERIAL':
    case 'BIGINT':
      return 'BIGINT(20)';
    case 'SERIAL':
    case 'INTEGER':
      return 'INT';
    case 'BYTEA':
      return 'BLOB';
    default:
      return pgType; // VARCHAR(255), TEXT
  }
}

function mysqlConstraint(pgType: string, cons: string): string {
  if (pgType === 'BIGSERIAL' || pgType === 'SERIAL') return 'PRIMARY KEY AUTO_INCREMENT NOT NULL';
  return cons;
}

export interface MysqlColumn {
  name: string;
  type: string;
  constraint: string;
}

/** Every JuiceFS table with its MySQL columns, in the order Go's syncAllTables creates them. */
export function mysqlSchemaColumns(prefix: string): Array<{
  table: string;
  cols: MysqlColumn[];
  pk?: readonly string[];
  indexes: ReadonlyArray<readonly [boolean, string, readonly string[]]>;
}> {
  return pgSchemaColumns(prefix).map((def) => {
    const short = def.table.slice(prefix.length);
    return {
      table: def.table,
      cols: def.cols.map(([name, type, cons]) => ({
        name,
        type: mysqlType(short, name, type),
        constraint: mysqlConstraint(type, cons),
      })),
      ...(def.pk ? { pk: def.pk } : {}),
      indexes: def.indexes ?? [],
    };
  });
}

const q = (name: string): string => `\`${name}\``;

/** CREATE TABLE statements (indexes inside) for a table prefix such as `jfs_`. */
export function mysqlDdl(prefix: string): string[] {
  return mysqlSchemaColumns(prefix).map((def) => {
    const parts = def.cols.map((c) => `${q(c.name)} ${c.type} ${c.constraint}`);
    if (def.pk) parts.push(`PRIMARY KEY ( ${def.pk.map(q).join(',')} )`);
    for (const [unique, name, cols] of def.indexes) {
      const idx = `${unique ? 'UQE' : 'IDX'}_${def.table}_${name}`;
      parts.push(`${unique ? 'UNIQUE ' : ''}KEY ${q(idx)} (${cols.map(q).join(',')})`);
    }
    return `CREATE TABLE IF NOT EXISTS ${q(def.table)} (${parts.join(', ')})`;
  });
}
