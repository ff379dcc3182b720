/**
 * JuiceFS's text output helpers, same shapes: `printResult` tables (header centred, one
 * column left-aligned, the others right-aligned, `+---+` dividers), `FormatBytes`
 * ("1.50 MiB (1572864 Bytes)") and go-humanize's IBytes ("4.0 KiB").
 */

function center(text: string, width: number): string {
  const pad = Math.max(0, width - text.length);
  const before = Math.ceil(pad / 2);
  return ' '.repeat(before) + text + ' '.repeat(pad - before);
}

/** Rows (the first is the header) as JuiceFS's printResult lays them out; `leftAlign` -1: none. */
export function formatTable(rows: readonly (readonly string[])[], leftAlign: number): string {
  const header = rows[0] ?? [];
  const width = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const divider = width.map((w) => '+' + '-'.repeat(w + 2)).join('') + '+';
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const out = [divider, line(header.map((h, i) => center(h, width[i]!))), divider];
  for (const r of rows.slice(1)) {
    out.push(
      line(
        width.map((w, i) => {
          const c = r[i] ?? '';
          return i === leftAlign ? c.padEnd(w) : c.padStart(w);
        }),
      ),
    );
  }
  out.push(divider);
  return out.join('\n') + '\n';
}

/** JuiceFS utils.FormatBytes. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} Bytes`;
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let m = n;
  let i = 0;
  for (; i < units.length - 1 && m >= 1 << 20; i++) m = Math.floor(m / 1024);
  return `${(m / 1024).toFixed(2)} ${units[i]}iB (${n} Bytes)`;
}

/** go-humanize IBytes. */
export function iBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const e = Math.floor(Math.log(n) / Math.log(1024));
  const v = Math.floor((n / 1024 ** e) * 10 + 0.5) / 10;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[e]}`;
}

/** CSV rows as Go's encoding/csv writes them (quotes only where needed). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  const cell = (c: string): string =>
    /[",\n\r]/.test(c) || c.startsWith(' ') ? `"${c.replace(/"/g, '""')}"` : c;
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}
