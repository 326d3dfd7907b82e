/**
 * How a sidecar proxy process is started, shared by the proxy's own launcher (src/proxy/node-flags.ts)
 * and the injector that writes the sidecar container into pods (which may not import src/proxy).
 * Why: V8's young generation grows to 3 × 16 MiB semi-spaces under load, which alone puts a sidecar
 * past issue 4's 50 MB RSS bar; 1 MiB semi-spaces keep a loaded proxy near its idle size, and one
 * malloc arena saves about 5 MB more, and no V8 worker-thread pool about 4 MB more (their GC
 * work runs on the main thread: CPU/request unchanged within noise, 58.1 vs 60.1 µs; measured
 * after 30 s at 1,000 req/s with MESHBOX_BENCH_PROXY_FLAGS, bench/proxy/README.md).
 */
export const PROXY_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=0'];
export const PROXY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** The sidecar entry (no CLI, no pino) relative to the meshbox install root. */
export const SIDECAR_ENTRY = 'dist/src/proxy/sidecar-entry.js';
/**
 * The same entry bundled into one file by `npm run build` (esbuild). Preferred when present: one
 * module instead of ~60 ESM modules starts 40 ms sooner and an idle sidecar is 5 MB smaller
 * (52 → 46.6 MB RSS; BENCHMARKS.md, sidecar footprint); a build made by tsc alone still runs the plain entry.
 */
export const SIDECAR_BUNDLE = 'dist/sidecar.mjs';

/** Environment the sidecar entry reads (Istio's pilot-agent names where one exists). */
export const SIDECAR_ENV = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  podIP: 'INSTANCE_IP',
  xdsSocket: 'MESHBOX_XDS_SOCKET',
  token: 'MESHBOX_PROXY_TOKEN',
  clusterDomain: 'MESHBOX_CLUSTER_DOMAIN',
  /** telemetry labels of this workload (Istio's node metadata) */
  workload: 'ISTIO_META_WORKLOAD_NAME',
  app: 'ISTIO_META_APP',
  version: 'ISTIO_META_VERSION',
} as const;

/** Istio's node id of a sidecar: `sidecar~<podIP>~<pod>.<ns>~<ns>.svc.<domain>`. */
export function sidecarNodeId(podIP: string, pod: string, namespace: string, clusterDomain = 'cluster.local'): string {
  return `sidecar~${podIP}~${pod}.${namespace}~${namespace}.svc.${clusterDomain}`;
}
