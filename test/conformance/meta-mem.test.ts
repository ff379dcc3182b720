/** The metadata conformance suite on the mem engine. */
import { memTarget } from '../helpers/engine-targets.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

const target = memTarget();
runMetaConformance(target);
runBoundedWork(target);
