/**
 * `tjfs quota set|get|list|delete META --path P`: directory quotas (docs/FORMAT.md §4.12), stored in
 * the metadata engine so Go clients honour them too. `set` computes the current usage of
 * the tree below the directory so the quota starts accurate.
 * `--uid N` / `--gid N` (JuiceFS 1.4): user and group quotas (src/meta/ug-quota-admin.ts);
 * `check [--repair]` recounts their usage by walking the tree.
 */
import type { Command } from 'commander';
import { CliError, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { resolveSubdir } from '../subdir.js';
import { openCliEngine } from '../meta-open.js';
import {
  checkUserGroupQuotas,
  deleteUserGroupQuota,
  getUserGroupQuota,
  setUserGroupQuota,
} from '../../meta/ug-quota-admin.js';
import { parseFormat } from '../../meta/format.js';

interface QuotaFlags {
  path?: string;
  capacity?: string;
  inodes?: string;
  uid?: string;
  gid?: string;
  repair?: boolean;
}

/** The `--uid`/`--gid` actions, over the engine (no session needed). */
async function runUserGroupQuota(action: string, metaUrl: string, f: QuotaFlags, io: CliIo): Promise<number> {
  if (f.uid !== undefined && f.gid !== undefined) throw new CliError('quota: give --uid or --gid, not both');
  const kind = f.uid !== undefined ? 'user' : 'group';
  const id = parseIntArg((f.uid ?? f.gid)!, f.uid !== undefined ? '--uid' : '--gid');
  const key = kind === 'user' ? 'uid' : 'gid';
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  try {
    if (action === 'set') {
      const limits = {
        ...(f.capacity !== undefined ? { maxSpace: parseSize(f.capacity, 'G', '--capacity') } : {}),
        ...(f.inodes !== undefined ? { maxInodes: parseIntArg(f.inodes, '--inodes') } : {}),
      };
      const q = await setUserGroupQuota(engine, kind, id, limits);
      out(io, JSON.stringify({ [key]: id, ...q }, null, 2));
    } else if (action === 'get') {
      const q = await getUserGroupQuota(engine, kind, id);
      if (!q) throw new CliError(`no quota for ${key} ${id}`);
      out(io, JSON.stringify({ [key]: id, ...q }, null, 2));
    } else if (action === 'delete') {
      if (!(await deleteUserGroupQuota(engine, kind, id))) throw new CliError(`no quota for ${key} ${id}`);
      out(io, `quota of ${key} ${id} removed`);
    } else if (action === 'check') {
      const bad = await checkUserGroupQuotas(engine, { kind, id, repair: f.repair === true });
      out(
        io,
        JSON.stringify(
          {
            [key]: id,
            consistent: bad.length === 0,
            repaired: f.repair === true && bad.length > 0,
            differences: bad,
          },
          null,
          2,
        ),
      );
      return bad.length === 0 || f.repair === true ? 0 : 1;
    } else {
      throw new CliError(`unknown quota action '${action}' (set, get, list, delete, check)`);
    }
    return 0;
  } finally {
    await engine.close();
  }
}

/** User and group records for `list`, when the volume has UserGroupQuota. */
async function listUserGroupRows(metaUrl: string, io: CliIo): Promise<Record<string, number>[]> {
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  try {
    const text = await engine.getFormatText();
    if (text === undefined || !parseFormat(text).UserGroupQuota) return [];
    const rows: Record<string, number>[] = [];
    for (const [kind, key] of [
      ['user', 'uid'],
      ['group', 'gid'],
    ] as const)
      for (const [id, q] of [...(await engine.listUserGroupQuotas(kind))].sort((a, b) => a[0] - b[0]))
        rows.push({ [key]: id, ...q });
    return rows;
  } finally {
    await engine.close();
  }
}

async function runQuota(action: string, metaUrl: string, f: QuotaFlags, io: CliIo): Promise<number> {
  if ((f.uid !== undefined || f.gid !== undefined) && action !== 'list')
    return runUserGroupQuota(action, metaUrl, f, io);
  if (action === 'check' && f.path === undefined) {
    const bad = await withEngineCheck(metaUrl, io, f.repair === true);
    return bad;
  }
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  try {
    if (action === 'list') {
      const rows: object[] = [...(await meta.listQuotas())].map(([ino, q]) => ({ inode: String(ino), ...q }));
      rows.push(...(await listUserGroupRows(metaUrl, io)));
      out(io, JSON.stringify(rows, null, 2));
      return 0;
    }
    if (!f.path) throw new CliError(`quota ${action}: --path is required`);
    const ino = await resolveSubdir(meta, f.path);
    const cur = await meta.getQuota(ino);
    if (action === 'get') {
      if (!cur) throw new CliError(`no quota on ${f.path}`);
      out(io, JSON.stringify({ path: f.path, inode: String(ino), ...cur }, null, 2));
    } else if (action === 'delete') {
      if (!cur) throw new CliError(`no quota on ${f.path}`);
      await meta.deleteQuota(ino);
      out(io, `quota on ${f.path} removed`);
    } else if (action === 'set') {
      if (!meta.format.DirStats)
        throw new CliError('directory quotas need DirStats (format with a current tjfs or juicefs)');
      const limits = {
        ...(f.capacity !== undefined ? { maxSpace: parseSize(f.capacity, 'G', '--capacity') } : {}),
        ...(f.inodes !== undefined ? { maxInodes: parseIntArg(f.inodes, '--inodes') } : {}),
      };
      const q = await meta.setQuota(ino, limits, { recount: true }); // the usage of the tree below, so the quota starts accurate
      out(io, JSON.stringify({ path: f.path, inode: String(ino), ...q }, null, 2));
    } else {
      throw new CliError(`unknown quota action '${action}' (set, get, list, delete)`);
    }
    return 0;
  } finally {
    await meta.stop();
  }
}

export function registerQuota(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('quota')
    .description('manage directory, user and group quotas: set, get, list, delete, check')
    .argument('<ACTION>', 'set | get | list | delete | check')
    .argument('<META>')
    .option('--path <path>', 'directory inside the volume')
    .option('--capacity <size>', 'space limit, GiB unless suffixed: 100, 500M (0 = unlimited)')
    .option('--inodes <n>', 'inode limit (0 = unlimited)')
    .option('--uid <uid>', 'user quota of this uid (JuiceFS 1.4)')
    .option('--gid <gid>', 'group quota of this gid (JuiceFS 1.4)')
    .option('--repair', 'check: write the counted usage where it differs')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs quota set redis://10.0.0.5:6379/1 --path /projects/a --capacity 100G --inodes 1000000',
        'tjfs quota set redis://10.0.0.5:6379/1 --uid 1000 --capacity 2 --inodes 200',
        'tjfs quota check redis://10.0.0.5:6379/1 --gid 100 --repair',
        'tjfs quota list redis://10.0.0.5:6379/1',
      ),
    )
    .action((action: string, meta: string, flags: QuotaFlags) => setExit(runQuota(action, meta, flags, io)));
}

/** `check` without --path/--uid/--gid: every user and group record. Exit 1 on a difference. */
async function withEngineCheck(metaUrl: string, io: CliIo, repair: boolean): Promise<number> {
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  try {
    const text = await engine.getFormatText();
    if (text === undefined || !parseFormat(text).UserGroupQuota)
      throw new CliError('quota check: give --path, --uid or --gid (no user/group quotas on this volume)');
    const bad = await checkUserGroupQuotas(engine, { repair });
    out(
      io,
      JSON.stringify(
        { consistent: bad.length === 0, repaired: repair && bad.length > 0, differences: bad },
        null,
        2,
      ),
    );
    return bad.length === 0 || repair ? 0 : 1;
  } finally {
    await engine.close();
  }
}
