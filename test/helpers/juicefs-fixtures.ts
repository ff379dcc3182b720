/**
 * JuiceFS's sample metadata dumps (`metadata.sample`, `metadata-sub.sample` from JuiceFS's
 * own load/dump tests). They are not part of this repository: they live beside it in
 * `../shared/fixtures/juicefs` (present in CI), or wherever TJFS_JUICEFS_FIXTURES points.
 * Tests that need them run whenever they exist and are skipped, saying so in their name and
 * with one note on stderr, when they do not (a plain clone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const JUICEFS_FIXTURES = resolve(
  process.env['TJFS_JUICEFS_FIXTURES'] ?? join(repoRoot(), '..', 'shared', 'fixtures', 'juicefs'),
);

/** True when JuiceFS's sample dumps are present. */
export const HAVE_JUICEFS_FIXTURES =
  existsSync(join(JUICEFS_FIXTURES, 'metadata.sample')) &&
  existsSync(join(JUICEFS_FIXTURES, 'metadata-sub.sample'));

/** Appended to the names of tests that need the samples when they are absent. */
export const NEEDS_FIXTURES = HAVE_JUICEFS_FIXTURES
  ? ''
  : ` [skipped: JuiceFS sample dumps not found in ${JUICEFS_FIXTURES}; set TJFS_JUICEFS_FIXTURES]`;

let noted = false;

/** Path of one sample; writes the skip note once when the samples are absent. */
export function juicefsFixture(name: 'metadata.sample' | 'metadata-sub.sample'): string {
  if (!HAVE_JUICEFS_FIXTURES && !noted) {
    noted = true;
    process.stderr.write(
      `note: JuiceFS sample dumps not found in ${JUICEFS_FIXTURES}: the tests using them are skipped (set TJFS_JUICEFS_FIXTURES to run them)\n`,
    );
  }
  return join(JUICEFS_FIXTURES, name);
}

/** The sample's text, or '' when absent (the tests using it are skipped then). */
export function readJuicefsFixture(name: 'metadata.sample' | 'metadata-sub.sample'): string {
  const path = juicefsFixture(name);
  return HAVE_JUICEFS_FIXTURES ? readFileSync(path, 'utf8') : '';
}
