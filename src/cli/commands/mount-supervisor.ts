/**
 * The supervisor side of `tjfs mount -d`: runs in the detached process that `daemonize`
 * starts, runs the same mount command as a worker under a Supervisor (src/supervisor), tells
 * the waiting `tjfs mount -d` when the mount is ready (or why not) and exits with the last
 * worker's code once the mount is over.
 *
 * Design: the supervisor writes its few log lines synchronously (appendFileSync) into the
 * mount's log, so a line written just before it exits (giving up, say) is never lost.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { upgradeSocketPath } from '../../supervisor/upgrade.js';
import { mountTypeAt } from './umount.js';
import { SUPERVISOR_ENV } from '../../supervisor/protocol.js';
import { Supervisor, type SupervisorLogger } from '../../supervisor/supervisor.js';
import type { CliIo } from '../io.js';

/** Environment of a supervisor that takes a mount over: the old supervisor's socket. */
export const TAKEOVER_ENV = 'TJFS_TAKEOVER';

/** The upgrade socket of the supervisor serving `mp`, if a tjfs supervisor serves it. */
export function liveUpgradeSocket(mp: string): string | undefined {
  const path = upgradeSocketPath(mp);
  try {
    return mountTypeAt(mp) === 'fuse.tjfs' && existsSync(path) ? path : undefined;
  } catch {
    return undefined; // no /proc/self/mountinfo: no upgrade
  }
}

function syncLogger(file: string | undefined): SupervisorLogger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>): void => {
    const text = JSON.stringify({ level, time: Date.now(), pid: process.pid, ...fields, msg }) + '\n';
    try {
      if (file !== undefined) appendFileSync(file, text);
      else process.stderr.write(text);
    } catch {
      // The log is unwritable: nothing better to do than carry on supervising.
    }
  };
  return {
    info: (msg, fields) => line('info', msg, fields),
    warn: (msg, fields) => line('warn', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
  };
}

/** The mount flags the supervisor reads (a subset of mount's). */
export interface SupervisorFlags {
  log?: string;
  writeJournal?: boolean;
}

export async function runSupervisor(flags: SupervisorFlags, io: CliIo): Promise<number> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(io.env))
    if (v !== undefined && k !== SUPERVISOR_ENV && k !== TAKEOVER_ENV) env[k] = v;
  const sup = new Supervisor({
    command: process.execPath,
    args: [...process.execArgv, ...process.argv.slice(1)],
    env,
    outFd: 'inherit',
    writeJournal: flags.writeJournal !== false,
    logger: syncLogger(flags.log),
    onFirstResult: (r) => {
      if (process.send) process.send(r === 'ready' ? 'ready' : r.error);
      if (process.connected) process.disconnect();
    },
  });
  const from = io.env[TAKEOVER_ENV];
  return sup.run(from !== undefined && from !== '' ? from : undefined);
}
