/**
 * JuiceFS SQL schema (docs/FORMAT.md §6.2): table names for a prefix and the SQLite DDL.
 *
 * Design: names come from `sqlTables(prefix)` so every statement is built from one place;
 * `prefix` is `jfs_` or `jfs_{table_prefix}_`. The DDL reproduces what Go's xorm creates
 * (same tables, columns, types and UQE_/IDX_ index names); it is only run by
 * initVolume (format), never on open. Statements are idempotent (IF NOT EXISTS) so a
 * re-format or a database created by Go is left as it is.
 */

export interface SqlTables {
  readonly prefix: string;
  readonly setting: string;
  readonly counter: string;
  readonly edge: string;
  readonly node: string;
  readonly symlink: string;
  readonly xattr: string;
  readonly chunk: string;
  readonly chunkRef: string;
  readonly delslices: string;
  readonly session: string;
  readonly session2: string;
  readonly sustained: string;
  readonly delfile: string;
  readonly flock: string;
  readonly plock: string;
  readonly dirQuota: string;
  readonly userGroupQuota: string;
  readonly dirStats: string;
  readonly detachedNode: string;
  readonly acl: string;
  readonly delegationToken: string;
  readonly changeLog: string;
}

export function sqlTables(prefix: string): SqlTables {
  const t = (n: string): string => prefix + n;
  return {
    prefix,
    setting: t('setting'),
    counter: t('counter'),
    edge: t('edge'),
    node: t('node'),
    symlink: t('symlink'),
    xattr: t('xattr'),
    chunk: t('chunk'),
    chunkRef: t('chunk_ref'),
    delslices: t('delslices'),
    session: t('session'),
    session2: t('session2'),
    sustained: t('sustained'),
    delfile: t('delfile'),
    flock: t('flock'),
    plock: t('plock'),
    dirQuota: t('dir_quota'),
    userGroupQuota: t('user_group_quota'),
    dirStats: t('dir_stats'),
    detachedNode: t('detached_node'),
    acl: t('acl'),
    delegationToken: t('delegation_token'),
    changeLog: t('change_log'),
  };
}

/** Every table Go may create, including the legacy `session` table (dropped by reset). */
export function allTableNames(t: SqlTables): string[] {
  return Object.entries(t)
    .filter(([k]) => k !== 'prefix')
    .map(([, v]) => v as string);
}

/** SQLite DDL of docs/FORMAT.md §6.2 for the given prefix. */
export function sqliteDdl(prefix: string): string[] {
  const t = sqlTables(prefix);
  const table = (name: string, cols: string): string => `CREATE TABLE IF NOT EXISTS \`${name}\` (${cols})`;
  const index = (unique: boolean, name: string, idx: string, cols: string): string =>
    `CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS \`${unique ? 'UQE' : 'IDX'}_${name}_${idx}\` ON \`${name}\` (${cols})`;
  const id = '`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL';
  return [
    table(t.setting, '`name` TEXT PRIMARY KEY NOT NULL, `value` TEXT NOT NULL'),
    table(t.counter, '`name` TEXT PRIMARY KEY NOT NULL, `value` INTEGER NOT NULL'),
    table(
      t.edge,
      `${id}, \`parent\` INTEGER NOT NULL, \`name\` BLOB NOT NULL, \`inode\` INTEGER NOT NULL, \`type\` INTEGER NOT NULL`,
    ),
    index(true, t.edge, 'edge', '`parent`,`name`'),
    index(false, t.edge, 'inode', '`inode`'),
    table(
      t.node,
      '`inode` INTEGER PRIMARY KEY NOT NULL, `type` INTEGER NOT NULL, `flags` INTEGER NOT NULL, ' +
        '`mode` INTEGER NOT NULL, `uid` INTEGER NOT NULL, `gid` INTEGER NOT NULL, ' +
        '`atime` INTEGER NOT NULL, `mtime` INTEGER NOT NULL, `ctime` INTEGER NOT NULL, ' +
        '`atimensec` INTEGER DEFAULT 0 NOT NULL, `mtimensec` INTEGER DEFAULT 0 NOT NULL, `ctimensec` INTEGER DEFAULT 0 NOT NULL, ' +
        '`nlink` INTEGER NOT NULL, `length` INTEGER NOT NULL, `rdev` INTEGER NULL, `parent` INTEGER NULL, ' +
        '`access_acl_id` INTEGER NULL, `default_acl_id` INTEGER NULL, `tier_id` INTEGER NULL',
    ),
    table(t.symlink, '`inode` INTEGER PRIMARY KEY NOT NULL, `target` BLOB NOT NULL'),
    table(t.xattr, `${id}, \`inode\` INTEGER NOT NULL, \`name\` TEXT NOT NULL, \`value\` BLOB NOT NULL`),
    index(true, t.xattr, 'name', '`inode`,`name`'),
    table(t.chunk, `${id}, \`inode\` INTEGER NOT NULL, \`indx\` INTEGER NOT NULL, \`slices\` BLOB NOT NULL`),
    index(true, t.chunk, 'chunk', '`inode`,`indx`'),
    table(
      t.chunkRef,
      '`chunkid` INTEGER PRIMARY KEY NOT NULL, `size` INTEGER NOT NULL, `refs` INTEGER NOT NULL',
    ),
    index(false, t.chunkRef, 'refs', '`refs`'),
    table(
      t.delslices,
      '`chunkid` INTEGER PRIMARY KEY NOT NULL, `deleted` INTEGER NOT NULL, `slices` BLOB NOT NULL',
    ),
    table(t.session2, '`sid` INTEGER PRIMARY KEY NOT NULL, `expire` INTEGER NOT NULL, `info` BLOB NULL'),
    table(t.sustained, `${id}, \`sid\` INTEGER NOT NULL, \`inode\` INTEGER NOT NULL`),
    index(true, t.sustained, 'sustained', '`sid`,`inode`'),
    table(
      t.delfile,
      '`inode` INTEGER PRIMARY KEY NOT NULL, `length` INTEGER NOT NULL, `expire` INTEGER NOT NULL',
    ),
    table(
      t.flock,
      `${id}, \`inode\` INTEGER NOT NULL, \`sid\` INTEGER NOT NULL, \`owner\` INTEGER NOT NULL, \`ltype\` INTEGER NOT NULL`,
    ),
    index(true, t.flock, 'flock', '`inode`,`sid`,`owner`'),
    table(
      t.plock,
      `${id}, \`inode\` INTEGER NOT NULL, \`sid\` INTEGER NOT NULL, \`owner\` INTEGER NOT NULL, \`records\` BLOB NOT NULL`,
    ),
    index(true, t.plock, 'plock', '`inode`,`sid`,`owner`'),
    table(
      t.dirQuota,
      '`inode` INTEGER PRIMARY KEY NOT NULL, `max_space` INTEGER NOT NULL, `max_inodes` INTEGER NOT NULL, ' +
        '`used_space` INTEGER NOT NULL, `used_inodes` INTEGER NOT NULL',
    ),
    table(
      t.userGroupQuota,
      '`qtype` INTEGER NOT NULL, `qkey` INTEGER NOT NULL, `max_space` INTEGER NOT NULL, `max_inodes` INTEGER NOT NULL, ' +
        '`used_space` INTEGER NOT NULL, `used_inodes` INTEGER NOT NULL, PRIMARY KEY ( `qtype`,`qkey` )',
    ),
    table(
      t.dirStats,
      '`inode` INTEGER PRIMARY KEY NOT NULL, `data_length` INTEGER NOT NULL, `used_space` INTEGER NOT NULL, `used_inodes` INTEGER NOT NULL',
    ),
    table(t.detachedNode, '`inode` INTEGER PRIMARY KEY NOT NULL, `added` INTEGER NOT NULL'),
    table(
      t.acl,
      `${id}, \`owner\` INTEGER NULL, \`group\` INTEGER NULL, \`mask\` INTEGER NULL, \`other\` INTEGER NULL, ` +
        '`named_users` BLOB NULL, `named_groups` BLOB NULL',
    ),
    table(t.delegationToken, `${id}, \`token\` BLOB NULL`),
    table(t.changeLog, `${id}, \`entry\` TEXT NOT NULL`),
  ];
}
