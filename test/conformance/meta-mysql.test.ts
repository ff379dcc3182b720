/** The metadata conformance suite on MySQL (a private MariaDB server, a fresh database per case). */
import { withMysql } from '../helpers/engine-targets.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

withMysql('metadata conformance on mysql', (target) => {
  runMetaConformance(target);
  runBoundedWork(target);
});
