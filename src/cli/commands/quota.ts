/**
 * `tjfs quota set|get|list|delete META --path P`: directory quotas (docs/FORMAT.md §4.12), stored in
 * the metadata engine so Go clients honour them too. `set` computes the current usage of
 * the tree below the directory so the quota starts accurate.
 */
import type { Command } from 'commander';
import { CliError, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { resolveSubdir } from '../subdir.js';

interface QuotaFlags {
  path?: string;
  capacity?: string;
  inodes?: string;
}

async function runQuota(action: string, metaUrl: string, f: QuotaFlags, io: CliIo): Promise<number> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  try {
    if (action === 'list') {
      const rows = [...(await meta.listQuotas())].map(([ino, q]) => ({ inode: String(ino), ...q }));
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
