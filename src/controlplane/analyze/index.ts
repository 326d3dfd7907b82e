export { analyzeMesh, meshStateOf, MESH_KINDS, type AnalyzeOptions } from './analyze-mesh.js';
export { FINDING_CODES, toFinding, type FindingCode } from './finding-codes.js';
