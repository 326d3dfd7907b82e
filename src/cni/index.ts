/** The CNI runtime side: drive the reference plugins for pod sandboxes (see cni-network.ts). */
export { CniNetwork, pluginError, validateConflist } from './cni-network.js';
export type { AttachmentInfo, CniNetworkOptions, GcReport, NetworkStatus, PluginStatus } from './cni-network.js';
export { bridgeConflist, loopbackConflist, CNI_VERSION } from './bridge-conflist.js';
export type { BridgeConflistOptions } from './bridge-conflist.js';
export { checkBridgeClash, findBridgeClash } from './check-bridge-clash.js';
export { execPlugins } from './plugin-exec.js';
export type { PluginExec, PluginRun } from './plugin-exec.js';
export { hostLocalDirs, listReservations, listConflistReservations } from './host-local-reservations.js';
export type { Reservation } from './host-local-reservations.js';
export * from './errors.js';
export type * from './types.js';
