export { freePort, freePorts } from '../../platform/http.js';
export { repoRoot, startNode, type RunningProcess } from '../../platform/nodeProcess.js';
