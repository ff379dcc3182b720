/**
 * PostgreSQL DDL of the JuiceFS tables (docs/FORMAT.md §6.2) as Go's xorm creates them.
 *
 * Design: the column types are what xorm's postgres dialect makes of JuiceFS's structs in
 * pkg/meta/sql.go: Go int..int32 and uint..uint32 become INTEGER, int64/uint64 BIGINT,
 * []byte (blob, varbinary(n)) BYTEA, string VARCHAR(255), `text` TEXT, an int64
 * `bigserial` key BIGSERIAL and a uint32 `autoincr` key SERIAL. Single-column primary keys
 * are inline (`PRIMARY KEY NOT NULL`), composite ones a table constraint; fields without
 * `notnull` are NULL. Index names are xorm's: `UQE_<table>_<name>` / `IDX_<table>_<name>`,
 * quoted (so case-sensitive, as Go's). `pgSchemaColumns` is the same table as data, for the
 * test that compares a created database with it column by column.
 * Invariants: idempotent (IF NOT EXISTS), so a database formatted by Go is left as it is.
 */
import { sqlTables } from './schema.js';

/** [column, type, constraint] as xorm writes them. */
type Col = readonly [string, string, string];
const BIGSERIAL_ID: Col = ['id', 'BIGSERIAL', 'PRIMARY KEY NOT NULL'];
const nn = (name: string, type: string): Col => [name, type, 'NOT NULL'];
const pk = (name: string, type: string): Col => [name, type, 'PRIMARY KEY NOT NULL'];
const nul = (name: string, type: string): Col => [name, type, 'NULL'];

interface TableDef {
  table: string;
  cols: readonly Col[];
  /** Composite primary key, if any. */
  pk?: readonly string[];
  /** [unique, index name, columns]. */
  indexes?: ReadonlyArray<readonly [boolean, string, readonly string[]]>;
}

/** Every JuiceFS table with its columns, in the order Go's syncAllTables creates them. */
export function pgSchemaColumns(prefix: string): TableDef[] {
  const t = sqlTables(prefix);
  const quotaCols = ['max_space', 'max_inodes', 'used_space', 'used_inodes'].map((c) => nn(c, 'BIGINT'));
  return [
    { table: t.setting, cols: [pk('name', 'VARCHAR(255)'), nn('value', 'TEXT')] },
    { table: t.counter, cols: [pk('name', 'VARCHAR(255)'), nn('value', 'BIGINT')] },
    {
      table: t.edge,
      cols: [
        BIGSERIAL_ID,
        nn('parent', 'BIGINT'),
        nn('name', 'BYTEA'),
        nn('inode', 'BIGINT'),
        nn('type', 'INTEGER'),
      ],
      indexes: [
        [true, 'edge', ['parent', 'name']],
        [false, 'inode', ['inode']],
      ],
    },
    {
      table: t.node,
      cols: [
        pk('inode', 'BIGINT'),
        ...['type', 'flags', 'mode', 'uid', 'gid'].map((c) => nn(c, 'INTEGER')),
        ...['atime', 'mtime', 'ctime'].map((c) => nn(c, 'BIGINT')),
        ...['atimensec', 'mtimensec', 'ctimensec'].map((c): Col => [c, 'INTEGER', 'DEFAULT 0 NOT NULL']),
        nn('nlink', 'INTEGER'),
        nn('length', 'BIGINT'),
        nul('rdev', 'INTEGER'),
        nul('parent', 'BIGINT'),
        nul('access_acl_id', 'INTEGER'),
        nul('default_acl_id', 'INTEGER'),
        nul('tier_id', 'INTEGER'),
      ],
    },
    { table: t.symlink, cols: [pk('inode', 'BIGINT'), nn('target', 'BYTEA')] },
    {
      table: t.xattr,
      cols: [BIGSERIAL_ID, nn('inode', 'BIGINT'), nn('name', 'VARCHAR(255)'), nn('value', 'BYTEA')],
      indexes: [[true, 'name', ['inode', 'name']]],
    },
    {
      table: t.chunk,
      cols: [BIGSERIAL_ID, nn('inode', 'BIGINT'), nn('indx', 'INTEGER'), nn('slices', 'BYTEA')],
      indexes: [[true, 'chunk', ['inode', 'indx']]],
    },
    {
      table: t.chunkRef,
      cols: [pk('chunkid', 'BIGINT'), nn('size', 'INTEGER'), nn('refs', 'INTEGER')],
      indexes: [[false, 'refs', ['refs']]],
    },
    { table: t.delslices, cols: [pk('chunkid', 'BIGINT'), nn('deleted', 'BIGINT'), nn('slices', 'BYTEA')] },
    { table: t.session2, cols: [pk('sid', 'BIGINT'), nn('expire', 'BIGINT'), nul('info', 'BYTEA')] },
    {
      table: t.sustained,
      cols: [BIGSERIAL_ID, nn('sid', 'BIGINT'), nn('inode', 'BIGINT')],
      indexes: [[true, 'sustained', ['sid', 'inode']]],
    },
    { table: t.delfile, cols: [pk('inode', 'BIGINT'), nn('length', 'BIGINT'), nn('expire', 'BIGINT')] },
    {
      table: t.flock,
      cols: [
        BIGSERIAL_ID,
        nn('inode', 'BIGINT'),
        nn('sid', 'BIGINT'),
        nn('owner', 'BIGINT'),
        nn('ltype', 'INTEGER'),
      ],
      indexes: [[true, 'flock', ['inode', 'sid', 'owner']]],
    },
    {
      table: t.plock,
      cols: [
        BIGSERIAL_ID,
        nn('inode', 'BIGINT'),
        nn('sid', 'BIGINT'),
        nn('owner', 'BIGINT'),
        nn('records', 'BYTEA'),
      ],
      indexes: [[true, 'plock', ['inode', 'sid', 'owner']]],
    },
    { table: t.dirQuota, cols: [pk('inode', 'BIGINT'), ...quotaCols] },
    {
      table: t.userGroupQuota,
      cols: [nn('qtype', 'INTEGER'), nn('qkey', 'BIGINT'), ...quotaCols],
      pk: ['qtype', 'qkey'],
    },
    {
      table: t.dirStats,
      cols: [
        pk('inode', 'BIGINT'),
        ...['data_length', 'used_space', 'used_inodes'].map((c) => nn(c, 'BIGINT')),
      ],
    },
    { table: t.detachedNode, cols: [pk('inode', 'BIGINT'), nn('added', 'BIGINT')] },
    {
      table: t.acl,
      cols: [
        ['id', 'SERIAL', 'PRIMARY KEY NOT NULL'],
        ...['owner', 'group', 'mask', 'other'].map((c) => nul(c, 'INTEGER')),
        nul('named_users', 'BYTEA'),
        nul('named_groups', 'BYTEA'),
      ],
    },
    { table: t.delegationToken, cols: [['id', 'SERIAL', 'PRIMARY KEY NOT NULL'], nul('token', 'BYTEA')] },
    { table: t.changeLog, cols: [BIGSERIAL_ID, nn('entry', 'TEXT')] },
  ];
}

const q = (name: string): string => `"${name}"`;

/** CREATE TABLE / CREATE INDEX statements for a table prefix such as `jfs_`. */
export function pgDdl(prefix: string): string[] {
  const out: string[] = [];
  for (const def of pgSchemaColumns(prefix)) {
    const cols = def.cols.map(([name, type, cons]) => `${q(name)} ${type} ${cons}`);
    if (def.pk) cols.push(`PRIMARY KEY ( ${def.pk.map(q).join(',')} )`);
    out.push(`CREATE TABLE IF NOT EXISTS ${q(def.table)} (${cols.join(', ')})`);
    for (const [unique, name, idxCols] of def.indexes ?? []) {
      const idx = `${unique ? 'UQE' : 'IDX'}_${def.table}_${name}`;
      out.push(
        `CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${q(idx)} ON ${q(def.table)} (${idxCols.map(q).join(',')})`,
      );
    }
  }
  return out;
}
