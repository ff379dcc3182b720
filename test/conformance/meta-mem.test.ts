/** The metadata conformance suite on the mem engine. */
import { memTarget } from '../helpers/engine-targets.js';
import { runMetaConformance } from './meta-suite.js';

runMetaConformance(memTarget());
