export { Proxy, type ProxyOptions, type UpdateResult } from './proxy.js';
export { runProxyFromFile, type RunProxyOptions, type RunningProxy } from './main.js';
export * from './errors.js';
