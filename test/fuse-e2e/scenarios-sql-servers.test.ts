/**
 * The shared POSIX scenarios on a real mount of a volume whose metadata lives on a private
 * PostgreSQL server and on a private MariaDB server (file store, trash disabled), driven
 * from a node child as on SQLite and Redis. Skipped, saying why, when a server or FUSE is
 * missing here; CI installs both (.ci/run).
 */
import { describe, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { mariadbSkipReason } from '../helpers/mariadb-server.js';
import { pgSkipReason } from '../helpers/pg-server.js';
import { defineScenarioTests, useScenarioMount } from './scenario-suite.js';

const engines = [
  { kind: 'postgres-file' as const, title: 'PostgreSQL', why: pgSkipReason() },
  { kind: 'mysql-file' as const, title: 'MySQL (MariaDB)', why: mariadbSkipReason() },
];

for (const e of engines) {
  const why = fuseAvailable() ? e.why : 'FUSE unavailable';
  if (why !== undefined)
    describe(`POSIX scenarios on a mount: ${e.title} + file store [skipped: ${why}]`, () =>
      it.skip('needs the server and FUSE', () => undefined));
  else
    describe(`POSIX scenarios on a mount: ${e.title} + file store`, () => {
      const sm = useScenarioMount(e.kind, { formatArgs: ['--trash-days', '0'] });
      defineScenarioTests(sm);
    });
}
