/**
 * The directory of the tjfs package: the nearest folder above this module that holds
 * package.json (the checkout under vitest, the same from dist/src/ after tsc, node_modules/tjfs
 * when installed). The addon (native/build), the CSI proto and the CLI entry are found from it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`tjfs: package root (package.json) not found above ${start}`);
  }
}
