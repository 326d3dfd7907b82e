export { analyzeMesh, meshStateOf, type AnalyzeOptions } from './analyze-mesh.js';
export { FINDING_CODES, toFinding, type FindingCode } from './finding-codes.js';
