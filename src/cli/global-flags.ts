/**
 * JuiceFS's global flags (cmd/flags.go globalFlags): `-v/--verbose` (alias `--debug`),
 * `-q/--quiet`, `--trace` and `--log-level LEVEL`. They are accepted before or after the
 * command name and set the default level of every logger the command creates
 * (logger.ts) and whether progress is drawn (progress.ts). An unknown level is a one-line
 * error. Precedence as in JuiceFS's setup: --trace, then --verbose/--debug, then --quiet,
 * then --log-level.
 */
import { Option, type Command } from 'commander';
import { CliError } from './io.js';
import { LOG_LEVELS, setDefaultLogLevel } from './logger.js';
import { setProgressQuiet } from './progress.js';

interface GlobalFlags {
  verbose?: boolean;
  debug?: boolean;
  quiet?: boolean;
  trace?: boolean;
  logLevel?: string;
}

export function addGlobalFlags(program: Command): void {
  program
    .option('-v, --verbose', 'enable debug log')
    .option('--debug', 'enable debug log (same as --verbose)')
    .option('-q, --quiet', 'show warning and errors only (and no progress)')
    .option('--trace', 'enable trace log')
    .addOption(new Option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`).default('info'))
    .hook('preAction', () => applyGlobalFlags(program.opts<GlobalFlags>()));
  // Reset for in-process callers: one run's --quiet must not leak into the next.
  setDefaultLogLevel('info');
  setProgressQuiet(false);
}

export function applyGlobalFlags(f: GlobalFlags): void {
  let level = (f.logLevel ?? 'info').toLowerCase();
  if (level === 'warning') level = 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new CliError(`invalid --log-level '${f.logLevel}': want one of ${LOG_LEVELS.join(', ')}`);
  if (f.quiet) level = 'warn';
  if (f.verbose || f.debug) level = 'debug';
  if (f.trace) level = 'trace';
  setDefaultLogLevel(level);
  setProgressQuiet(f.quiet === true);
}
