/**
 * The shared POSIX scenarios on a real mount of a SQLite + file-store volume (trash
 * disabled, so removed names free their links at once), driven from a node child.
 */
import { describe } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { defineScenarioTests, useScenarioMount } from './scenario-suite.js';

describe.skipIf(!fuseAvailable())('POSIX scenarios on a mount: SQLite + file store', () => {
  const sm = useScenarioMount('sqlite-file', { formatArgs: ['--trash-days', '0'] });
  defineScenarioTests(sm);
});
