/**
 * `tjfs destroy META UUID [--yes] [--force]` (JuiceFS cmd/destroy.go): deletes every object
 * of a volume and all its metadata. The UUID must match the volume's (a typo never destroys
 * the wrong volume); live sessions refuse it unless `--force`, which also skips the prompt
 * and the summary, as JuiceFS. Objects go first, so an interrupted destroy can be re-run
 * (the metadata still names the volume). The disk caches of clients are left alone.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { listAll } from '../../object/object-store.js';
import { mapLimit } from '../../util/limits.js';
import { redactSecrets } from '../../util/redact.js';
import { CliError, err, helpExamples, out, type CliIo } from '../io.js';
import { openCliEngine, openCliMeta, openCliRuntime } from '../meta-open.js';
import { createProgress } from '../progress.js';

export interface DestroyFlags {
  yes?: boolean;
  force?: boolean;
}

async function confirmed(io: CliIo): Promise<boolean> {
  if (!io.stdin) return false;
  io.stderr.write('Are you sure? [y/N]: ');
  const rl = createInterface({ input: io.stdin });
  try {
    for await (const line of rl) return /^y(es)?$/i.test(line.trim());
    return false;
  } finally {
    rl.close();
  }
}

/** Checks the UUID and the sessions, shows what goes, asks; false when the user declined. */
async function preflight(metaUrl: string, uuid: string, flags: DestroyFlags, io: CliIo): Promise<boolean> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  try {
    const f = meta.format;
    if (f.UUID !== uuid)
      throw new CliError(`UUID ${JSON.stringify(uuid)} != expected ${JSON.stringify(f.UUID)}`);
    if (flags.force) return true;
    const now = Date.now() / 1000;
    const live = (await meta.listSessions()).filter((s) => s.expire > now);
    if (live.length > 0) {
      const lines = live.map((s) => {
        let info: { HostName?: string; MountPoint?: string } = {};
        try {
          info = s.info ? (JSON.parse(s.info) as typeof info) : {};
        } catch {
          // an unreadable info still names the session by its id
        }
        return `  ${s.sid}\t${info.HostName ?? ''}\t${info.MountPoint ?? ''}`;
      });
      throw new CliError(
        `${live.length} sessions are active, please disconnect them first:\n${lines.join('\n')}`,
      );
    }
    const u = await meta.usage();
    out(
      io,
      ` volume name: ${f.Name}\n volume UUID: ${f.UUID}\ndata storage: ${f.Storage}://${f.Bucket}\n  used bytes: ${u.usedSpace}\n used inodes: ${u.usedInodes}`,
    );
    err(io, 'WARNING: The target volume will be permanently destroyed, including:');
    err(io, `WARNING: 1. ALL objects in the data storage: ${f.Storage}://${f.Bucket}${f.Name}/`);
    err(io, `WARNING: 2. ALL entries in the metadata engine: ${redactSecrets(metaUrl)}`);
    return flags.yes === true || (await confirmed(io));
  } finally {
    await meta.stop();
  }
}

export async function runDestroy(
  metaUrl: string,
  uuid: string,
  flags: DestroyFlags,
  io: CliIo,
): Promise<number> {
  if (!(await preflight(metaUrl, uuid, flags, io))) throw new CliError('Aborted.');
  const rt = await openCliRuntime(metaUrl, io, { readOnly: true, cacheSize: 0, heartbeat: false });
  const progress = createProgress(io, 'destroy');
  let failed = 0;
  try {
    const deleted = progress.counter('Deleted objects');
    let page: string[] = [];
    const flush = async (): Promise<void> => {
      await mapLimit(page, 16, (key) =>
        rt.store.delete(key).then(
          () => deleted.increment(),
          (e: unknown) => {
            failed++;
            err(io, `tjfs: delete ${key}: ${(e as Error).message}`);
          },
        ),
      );
      page = [];
    };
    for await (const o of listAll(rt.store)) {
      page.push(o.key);
      if (page.length >= 1000) await flush();
    }
    await flush();
    progress.done();
    out(io, `Deleted ${deleted.value} objects`);
  } finally {
    progress.done();
    await rt.close();
  }
  if (failed > 0)
    throw new CliError(`${failed} objects could not be deleted; delete them by hand, then re-run destroy`);
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  try {
    await engine.reset();
  } finally {
    await engine.close();
  }
  out(io, 'The volume has been destroyed! You may need to delete cache directory manually.');
  return 0;
}

export function registerDestroy(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('destroy')
    .description('destroy an existing volume: all its objects and metadata')
    .argument('<META>', 'metadata URL')
    .argument('<UUID>', "the volume's UUID (see 'tjfs status')")
    .option('-y, --yes', "answer 'yes' to the prompt (non-interactive)")
    .option('-f, --force', 'skip the session check and the prompt')
    .addHelpText(
      'after',
      helpExamples('tjfs destroy redis://localhost 8b4d4c9e-6f8a-4d5e-9b0c-1f2e3d4c5b6a --yes'),
    )
    .action((meta: string, uuid: string, flags: DestroyFlags) => setExit(runDestroy(meta, uuid, flags, io)));
}
