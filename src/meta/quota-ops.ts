/**
 * Directory quotas as `Meta` operations (docs/FORMAT.md §4.12; JuiceFS: HandleQuota): list,
 * get, set (limits, keeping or recounting the usage) and delete. Stored in the engine so Go
 * clients honour them too; each client's cache of them is refreshed by its heartbeat.
 */
import type { MetaCore } from './core.js';
import type { QuotaRecord } from './engine.js';
import { treeUsage } from './scan.js';
import type { Ino } from '../base/types.js';

/** The quota-bearing directories above a file, through every parent of a hard link. */
export function quotaDirs(core: MetaCore, ino: Ino): Promise<Ino[]> {
  return core.txn(
    async (tx) => {
      const a = await tx.getAttr(ino);
      const parents = a && a.parent !== 0n ? [a.parent] : [...(await tx.getParents(ino)).keys()];
      const out = new Set<Ino>();
      for (const p of parents) for (const q of await core.quotaAncestors(tx, p)) out.add(q);
      return [...out];
    },
    { op: 'write', readonly: true },
  );
}

export function listQuotas(core: MetaCore): Promise<Map<Ino, QuotaRecord>> {
  return core.engine.listDirQuotas();
}

export async function getQuota(core: MetaCore, ino: Ino): Promise<QuotaRecord | undefined> {
  return (await core.engine.listDirQuotas()).get(ino);
}

export async function setQuota(
  core: MetaCore,
  ino: Ino,
  limits: { maxSpace?: number; maxInodes?: number },
  opts: { recount?: boolean } = {},
): Promise<QuotaRecord> {
  const cur = await getQuota(core, ino);
  const used = opts.recount
    ? await treeUsage(core.engine, ino)
    : { space: cur?.usedSpace ?? 0, inodes: cur?.usedInodes ?? 0 };
  const q: QuotaRecord = {
    maxSpace: limits.maxSpace ?? cur?.maxSpace ?? 0,
    maxInodes: limits.maxInodes ?? cur?.maxInodes ?? 0,
    usedSpace: used.space,
    usedInodes: used.inodes,
  };
  await core.engine.setDirQuota(ino, q);
  return q;
}

export async function deleteQuota(core: MetaCore, ino: Ino): Promise<void> {
  await core.engine.txn(async (tx) => tx.deleteDirQuota(ino), { op: 'quota delete' });
}
