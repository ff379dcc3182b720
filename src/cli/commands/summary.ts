/**
 * `tjfs summary PATH [-d/--depth N] [-e/--entries N] [--strict] [--csv]` (JuiceFS
 * cmd/summary.go, same table): PATH, SIZE, DIRS and FILES of the tree below PATH, `depth`
 * levels shown (default 2, at most 10), each directory's `entries` largest children
 * (default 10, at most 100) with the rest folded into a `.../` row. Sizes are IEC units, or
 * bytes with --csv. The volume is reached as for `info` (mounted-volume.ts).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { FileType } from '../../base/types.js';
import { getTreeSummary, type TreeSummary } from '../../meta/tree-ops.js';
import { err, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { inodeOf, openMounted } from '../mounted.js';
import { createProgress } from '../progress.js';
import { formatCsv, formatTable, iBytes } from '../table.js';

export interface SummaryFlags {
  depth?: string;
  entries?: string;
  strict?: boolean;
  csv?: boolean;
}

function render(rows: string[][], t: TreeSummary, csv: boolean): void {
  const path = t.type === FileType.Directory && !t.path.endsWith('/') ? t.path + '/' : t.path;
  rows.push([path, csv ? String(t.size) : iBytes(t.size), String(t.dirs), String(t.files)]);
  for (const c of t.children) render(rows, c, csv);
}

export async function runSummary(path: string, f: SummaryFlags, io: CliIo): Promise<number> {
  let depth = parseIntArg(f.depth ?? '2', '--depth');
  let topN = parseIntArg(f.entries ?? '10', '--entries');
  if (depth > 10) {
    err(io, 'tjfs: depth should be less than 11 (using 10)');
    depth = 10;
  }
  if (topN > 100) {
    err(io, 'tjfs: entries should be less than 101 (using 100)');
    topN = 100;
  }
  const abs = resolve(io.cwd ?? process.cwd(), path);
  const v = await openMounted(abs, io);
  try {
    const p = createProgress(io, `summary ${path}`, f.csv ? { quiet: true } : {});
    const c = p.counter('entries');
    const tree = await getTreeSummary(v.meta, inodeOf(v, abs), path, {
      depth,
      topN,
      onProgress: (n, b) => c.increment(n, b),
    });
    p.done();
    const rows = [['PATH', 'SIZE', 'DIRS', 'FILES']];
    render(rows, tree, f.csv === true);
    out(io, f.csv ? formatCsv(rows) : formatTable(rows, 0));
    return 0;
  } finally {
    await v.close();
  }
}

export function registerSummary(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('summary')
    .description('show tree summary of a directory')
    .argument('<PATH>', 'a path inside a tjfs mount')
    .option('-d, --depth <N>', 'depth of tree to show (zero means only show root)', '2')
    .option('-e, --entries <N>', 'show top N entries (sort by size)', '10')
    .option('--strict', 'show accurate summary (tjfs always walks the tree)')
    .option('--csv', 'print summary in csv format')
    .addHelpText(
      'after',
      helpExamples('tjfs summary /mnt/jfs/foo', 'tjfs summary --depth 5 --entries 20 /mnt/jfs/foo'),
    )
    .action((path: string, f: SummaryFlags) => setExit(runSummary(path, f, io)));
}
