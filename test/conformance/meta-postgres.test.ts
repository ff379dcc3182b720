/** The metadata conformance suite on PostgreSQL (a private server, a fresh schema per case). */
import { describe, it } from 'vitest';
import { pgTarget } from '../helpers/engine-targets.js';
import { pgSkipReason } from '../helpers/pg-server.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

const why = pgSkipReason();
if (why !== undefined) {
  describe(`metadata conformance on postgres [skipped: ${why}]`, () => it.skip('needs PostgreSQL', () => undefined));
} else {
  const target = pgTarget();
  runMetaConformance(target);
  runBoundedWork(target);
}
