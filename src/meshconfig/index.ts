export * from './types.js';
export * from './errors.js';
export { parseDuration } from './duration.js';
export { validateSnapshot, type SnapshotValidation } from './validate-snapshot.js';
export { loadProxyConfigFile, parseProxyConfig, validateProxyConfig, defaultBootstrap, DEFAULT_LIMITS } from './load-proxy-config-file.js';
