/**
 * `tjfs quota set|get|list|delete META --path P`: directory quotas (docs/FORMAT.md §4.12), stored in
 * the metadata engine so Go clients honour them too. `set` computes the current usage of
 * the tree below the directory so the quota starts accurate.
 */
import type { Command } from 'commander';
import type { MetaEngine } from '../../meta/engine.js';
import { align4K, FileType, type Ino } from '../../base/types.js';
import { CliError, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { walkTree } from '../ops/volume-scan.js';
import { resolveSubdir } from '../subdir.js';

/** Space and inodes used below `dir` (not counting `dir`), walking the tree. */
export async function treeUsage(engine: MetaEngine, dir: Ino): Promise<{ space: number; inodes: number }> {
  let space = 0;
  let inodes = 0;
  await walkTree(engine, [dir], (e, a) => {
    inodes++;
    space += a && a.type === FileType.File ? align4K(a.length) : 4096;
    return e.type === FileType.Directory;
  });
  return { space, inodes };
}

interface QuotaFlags {
  path?: string;
  capacity?: string;
  inodes?: string;
}

async function runQuota(action: string, metaUrl: string, f: QuotaFlags, io: CliIo): Promise<number> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  try {
    const engine = meta.engine;
    if (action === 'list') {
      const rows = [...(await engine.listDirQuotas())].map(([ino, q]) => ({ inode: String(ino), ...q }));
      out(io, JSON.stringify(rows, null, 2));
      return 0;
    }
    if (!f.path) throw new CliError(`quota ${action}: --path is required`);
    const ino = await resolveSubdir(meta, f.path);
    const quotas = await engine.listDirQuotas();
    const cur = quotas.get(ino);
    if (action === 'get') {
      if (!cur) throw new CliError(`no quota on ${f.path}`);
      out(io, JSON.stringify({ path: f.path, inode: String(ino), ...cur }, null, 2));
    } else if (action === 'delete') {
      if (!cur) throw new CliError(`no quota on ${f.path}`);
      await engine.txn(async (tx) => tx.deleteDirQuota(ino), { op: 'quota delete' });
      out(io, `quota on ${f.path} removed`);
    } else if (action === 'set') {
      if (!meta.format.DirStats)
        throw new CliError('directory quotas need DirStats (format with a current tjfs or juicefs)');
      const used = await treeUsage(engine, ino);
      const q = {
        maxSpace: f.capacity !== undefined ? parseSize(f.capacity, 'G', '--capacity') : (cur?.maxSpace ?? 0),
        maxInodes: f.inodes !== undefined ? parseIntArg(f.inodes, '--inodes') : (cur?.maxInodes ?? 0),
        usedSpace: used.space,
        usedInodes: used.inodes,
      };
      await engine.setDirQuota(ino, q);
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
    .description('manage directory quotas: set, get, list, delete')
    .argument('<ACTION>', 'set | get | list | delete')
    .argument('<META>')
    .option('--path <path>', 'directory inside the volume')
    .option('--capacity <size>', 'space limit, GiB unless suffixed: 100, 500M (0 = unlimited)')
    .option('--inodes <n>', 'inode limit (0 = unlimited)')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs quota set redis://10.0.0.5:6379/1 --path /projects/a --capacity 100G --inodes 1000000',
        'tjfs quota list redis://10.0.0.5:6379/1',
      ),
    )
    .action((action: string, meta: string, flags: QuotaFlags) => setExit(runQuota(action, meta, flags, io)));
}
