import { runMetaConformance } from './meta-suite.js';
let i = 0;
runMetaConformance({ name: 'mem', freshUrl: async () => `mem://conformance-${process.pid}-${i++}` });
