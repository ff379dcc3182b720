/**
 * `tjfs csi`: runs the CSI driver (Identity + Node and/or Controller) on a unix socket until
 * SIGTERM/SIGINT. Mount daemons it started keep running across its restarts.
 *
 * Also registers the hidden `tjfs csi-mount MOUNTPOINT [mount flags]`, the command the node
 * plugin spawns for a shared mount: it reads the meta URL from TJFS_CSI_META (so credentials
 * never appear in a process command line) and runs `tjfs mount` in the foreground.
 */
import type { Command } from 'commander';
import { SUPERVISOR_ENV } from '../../supervisor/protocol.js';
import { CsiPlugin, type CsiMode } from '../../csi/csi-plugin.js';
import { META_ENV } from '../../csi/daemon-launcher.js';
import { hostname } from 'node:os';
import { CliError, helpExamples, parseSecondsArg, type CliIo } from '../io.js';
import { createLogger } from '../logger.js';

interface CsiFlags {
  endpoint?: string;
  nodeId?: string;
  mode: string;
  stateDir: string;
  mountBase: string;
  checkInterval: string;
  log?: string;
}

const MODES: readonly CsiMode[] = ['node', 'controller', 'all'];

async function runCsi(flags: CsiFlags, io: CliIo, version: string): Promise<number> {
  const endpoint = flags.endpoint ?? io.env['CSI_ENDPOINT'];
  if (!endpoint) throw new CliError('--endpoint (or CSI_ENDPOINT) is required, e.g. unix:///csi/csi.sock');
  const mode = flags.mode as CsiMode;
  if (!MODES.includes(mode)) throw new CliError(`--mode must be one of ${MODES.join(', ')}`);
  const nodeId = flags.nodeId ?? io.env['NODE_NAME'] ?? hostname();
  const interval = parseSecondsArg(flags.checkInterval, '--check-interval');
  const logger = createLogger(flags.log);
  const plugin = await CsiPlugin.start({
    endpoint,
    nodeId,
    mode,
    stateDir: flags.stateDir,
    ...(io.env['TJFS_CSI_STATE_KEY'] ? { stateKey: io.env['TJFS_CSI_STATE_KEY'] } : {}),
    mountBase: flags.mountBase,
    version,
    logger,
    env: io.env,
    checkIntervalMs: interval * 1000,
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await plugin.close();
  return 0;
}

/** `runCli` runs a tjfs command line (main's entry): csi-mount hands its mount over to it. */
export function registerCsi(
  program: Command,
  io: CliIo,
  setExit: (p: Promise<number>) => void,
  version: string,
  runCli: (argv: readonly string[], io: CliIo) => Promise<number>,
): void {
  program
    .command('csi')
    .description('run the Kubernetes CSI driver (csi.tjfs.io) on a unix socket')
    .option('--endpoint <endpoint>', 'CSI endpoint, unix:///csi/csi.sock (default: $CSI_ENDPOINT)')
    .option('--node-id <id>', 'node id reported to kubelet (default: $NODE_NAME or the host name)')
    .option('--mode <mode>', 'services to run: node, controller or all', 'node')
    .option(
      '--state-dir <dir>',
      'where shared-mount state (0600) and mount logs are kept',
      '/var/lib/tjfs/csi',
    )
    .option(
      '--mount-base <dir>',
      'where shared FUSE mounts are made (Bidirectional hostPath)',
      '/var/lib/tjfs/mnt',
    )
    .option('--check-interval <seconds>', 'health check period of shared mounts (0 disables)', '30')
    .option('--log <file>', 'log file (default: stderr)')
    .addHelpText(
      'after',
      helpExamples('tjfs csi --endpoint unix:///csi/csi.sock --node-id $NODE_NAME --mode node'),
    )
    .action((flags: CsiFlags) => setExit(runCsi(flags, io, version)));

  program
    .command('csi-mount', { hidden: true })
    .description('internal: run a shared mount for the CSI node plugin (meta URL from $TJFS_CSI_META)')
    .helpOption(false)
    .allowUnknownOption()
    .argument('<MOUNTPOINT>')
    .argument('[flags...]')
    .action((mountpoint: string, rest: string[]) => {
      const meta = io.env[META_ENV];
      if (!meta) throw new CliError(`${META_ENV} is not set`);
      setExit(
        // The URL leaves the environment of the mount, except a supervisor's: its workers
        // are `csi-mount` again and read it from there.
        runCli(['mount', meta, mountpoint, ...rest], {
          ...io,
          env: { ...io.env, ...(io.env[SUPERVISOR_ENV] === '1' ? {} : { [META_ENV]: undefined }) },
        }),
      );
    });
}
