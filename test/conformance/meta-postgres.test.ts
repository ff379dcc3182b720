/** The metadata conformance suite on PostgreSQL (a private server, a fresh schema per case). */
import { withPg } from '../helpers/engine-targets.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

withPg('metadata conformance on postgres', (target) => {
  runMetaConformance(target);
  runBoundedWork(target);
});
