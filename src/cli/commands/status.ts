/** `tjfs status META`: the volume setting (secrets removed) and its sessions. */
import type { Command } from 'commander';
import { helpExamples, out, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { redactedJson } from '../../util/redact.js';

export async function runStatus(metaUrl: string, io: CliIo): Promise<number> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  try {
    const sessions = [];
    for (const s of await meta.listSessions()) {
      let info: unknown = {};
      try {
        info = s.info ? JSON.parse(s.info) : {};
      } catch {
        info = { raw: s.info };
      }
      sessions.push({ Sid: s.sid, Expire: new Date(s.expire * 1000).toISOString(), ...(info as object) });
    }
    const u = await meta.usage();
    const usage = { UsedSpace: u.usedSpace, UsedInodes: u.usedInodes };
    out(io, redactedJson({ Setting: meta.format, Usage: usage, Sessions: sessions }));
    return 0;
  } finally {
    await meta.stop();
  }
}

export function registerStatus(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('status')
    .description('show the volume setting and active sessions')
    .argument('<META>')
    .addHelpText('after', helpExamples('tjfs status redis://10.0.0.5:6379/1'))
    .action((meta: string) => setExit(runStatus(meta, io)));
}
