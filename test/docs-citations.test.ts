/**
 * The notes the code relies on live in this repository: every `docs/NAME.md §N` cited in
 * src/, test/ and benchmarks/ names a file and a section heading that exist, and nothing
 * cites the old out-of-tree spec (`spec §…`, `../shared/…`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/mount.js';

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** Section numbers of a note: `## 4. Title` → 4, `### 4.12 Title` → 4.12. */
function sections(doc: string): Set<string> {
  const ids = new Set<string>();
  for (const m of readFileSync(doc, 'utf8').matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm))
    if (m[1]) ids.add(m[1]);
  return ids;
}

const files = ['src', 'test', 'benchmarks']
  .flatMap((d) => sourceFiles(join(ROOT, d)))
  .filter((f) => !f.endsWith('docs-citations.test.ts'));

describe('docs citations', () => {
  it('every docs/NAME.md §N cited in the code exists', () => {
    const missing: string[] = [];
    let cited = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      // A citation is a docs path followed by one or more §-numbers: `docs/FORMAT.md §4.7, §6.5`, `§2–§4`.
      for (const m of text.matchAll(
        /docs\/([A-Z]+)\.md((?:\s*(?:,|–|-|and|\/)?\s*§\d+(?:\.\d+)?[a-z]?)*)/g,
      )) {
        const doc = join(ROOT, 'docs', `${m[1]}.md`);
        if (!existsSync(doc)) {
          missing.push(`${relative(ROOT, file)}: docs/${m[1]}.md`);
          continue;
        }
        const have = sections(doc);
        for (const s of (m[2] ?? '').matchAll(/§(\d+(?:\.\d+)?)/g)) {
          cited++;
          if (!have.has(s[1] ?? '')) missing.push(`${relative(ROOT, file)}: docs/${m[1]}.md §${s[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(cited).toBeGreaterThan(90);
  });

  it('no comment cites the out-of-tree spec', () => {
    const stale = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => [line, i + 1] as const)
        .filter(([line]) => /\b[Ss]pec §|spec\/[a-z-]+\.md|shared\/(spec|DESIGN)|features §/.test(line))
        .map(([, n]) => `${relative(ROOT, f)}:${n}`),
    );
    expect(stale).toEqual([]);
  });
});
