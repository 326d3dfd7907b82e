/** CNI 1.0 shapes as the runtime sees them (SPEC.md "Network configuration" and "Success"). */

/** One plugin entry of a conflist; plugin-specific keys pass through untouched. */
export interface CniPluginConf {
  type: string;
  /** capabilities this plugin accepts through runtimeConfig (SPEC.md "Deriving runtimeConfig") */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. "10.201.3.2/24" */
  address: string;
  gateway?: string;
  /** index into `interfaces` */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

export interface CapabilityArgs {
  portMappings?: PortMapping[];
  [capability: string]: unknown;
}

/** An attachment is (containerId, ifName) on one network; netns is the path of the network namespace. */
export interface Attachment {
  containerId: string;
  netns: string;
  ifName: string;
  /** passed as CNI_ARGS ("K=V;K2=V2"), e.g. K8S_POD_NAME */
  args?: Record<string, string>;
  capabilityArgs?: CapabilityArgs;
}

export interface AttachmentKey {
  containerId: string;
  ifName: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
