/** The metadata conformance suite on Redis (a private redis-server, flushed per case). */
import { redisTarget } from '../helpers/engine-targets.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

const target = redisTarget();
runMetaConformance(target);
runBoundedWork(target);
