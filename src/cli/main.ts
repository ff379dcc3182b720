/**
 * The CLI as a function: `main(argv, io)` parses arguments with commander, runs one
 * command and resolves to its exit code. Errors become a one-line message and code 1;
 * nothing here calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { CLIENT_VERSION } from '../meta/format.js';
import { isFsError } from '../base/errno.js';
import { registerBench } from './commands/bench.js';
import { registerCsi } from './commands/csi.js';
import { registerDumpLoad } from './commands/dump-load.js';
import { registerFormat } from './commands/format.js';
import { registerGateway } from './commands/gateway.js';
import { registerMount } from './commands/mount.js';
import { registerStatus } from './commands/status.js';
import { registerConfig } from './commands/config.js';
import { registerQuota } from './commands/quota.js';
import { registerFsckGc } from './commands/fsck-gc.js';
import { registerUmount } from './commands/umount.js';
import { registerClone } from './commands/clone.js';
import { registerCompact } from './commands/compact.js';
import { registerDestroy } from './commands/destroy.js';
import { registerVersion } from './commands/version.js';
import { registerWarmup } from './commands/warmup.js';
import { registerInfo } from './commands/info.js';
import { registerSummary } from './commands/summary.js';
import { registerRmrRestore } from './commands/rmr-restore.js';
import { registerSync } from './commands/sync.js';
import { registerStats } from './commands/stats.js';
import { registerProfile } from './commands/profile.js';
import { registerDebug } from './commands/debug.js';
import { registerObjbench } from './commands/objbench.js';
import { registerMdtest } from './commands/mdtest.js';
import { addGlobalFlags } from './global-flags.js';
import { CliError, err, type CliIo } from './io.js';

export const TJFS_VERSION = '0.1.0';

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let pending: Promise<number> | undefined;
  const setExit = (p: Promise<number>): void => {
    pending = p;
  };
  const program = new Command('tjfs')
    .description('A JuiceFS-compatible distributed POSIX file system client')
    .version(
      `tjfs ${TJFS_VERSION} (JuiceFS format compatible, client version ${CLIENT_VERSION})`,
      '-V, --version',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
  addGlobalFlags(program);
  registerFormat(program, io, setExit);
  registerMount(program, io, argv, setExit);
  registerUmount(program, io, setExit);
  registerStatus(program, io, setExit);
  registerConfig(program, io, setExit);
  registerQuota(program, io, setExit);
  registerFsckGc(program, io, setExit);
  registerDumpLoad(program, io, setExit);
  registerGateway(program, io, setExit);
  registerCsi(program, io, setExit, TJFS_VERSION, main);
  registerBench(program, io, setExit);
  registerWarmup(program, io, argv, setExit);
  registerClone(program, io, setExit);
  registerCompact(program, io, setExit);
  registerDestroy(program, io, setExit);
  registerVersion(program, io, setExit, TJFS_VERSION);
  registerInfo(program, io, setExit);
  registerSummary(program, io, setExit);
  registerRmrRestore(program, io, setExit);
  registerSync(program, io, argv, setExit);
  registerStats(program, io, setExit);
  registerProfile(program, io, setExit);
  registerDebug(program, io, setExit, TJFS_VERSION);
  registerObjbench(program, io, setExit);
  registerMdtest(program, io, setExit);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return pending ? await pending : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliError) {
      err(io, `tjfs: ${e.message}`);
      return e.exitCode;
    }
    if (isFsError(e)) {
      err(io, `tjfs: ${e.message}`);
      return 1;
    }
    err(io, `tjfs: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
