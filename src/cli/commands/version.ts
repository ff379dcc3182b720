/** `tjfs version` (JuiceFS prints `juicefs version X`): the same text as `tjfs -V`. */
import type { Command } from 'commander';
import { CLIENT_VERSION } from '../../meta/format.js';
import { out, type CliIo } from '../io.js';

export function versionText(version: string): string {
  return `tjfs version ${version} (JuiceFS format compatible, client version ${CLIENT_VERSION})`;
}

export function registerVersion(
  program: Command,
  io: CliIo,
  setExit: (p: Promise<number>) => void,
  version: string,
): void {
  program
    .command('version')
    .description('show the version')
    .action(() => {
      out(io, versionText(version));
      setExit(Promise.resolve(0));
    });
}
