/** Error catalog of the mesh metrics endpoint (scraping every proxy, serving the merge). */
import { defineError } from '../../core/errors.js';

export const ScrapeFailed = defineError(
  'MBX_TELEMETRY_SCRAPE_FAILED',
  (url: string, reason: string, detail: string) =>
    `scraping ${url} failed (${reason}: ${detail}); the proxy is skipped this time and counted in meshbox_telemetry_scrape_failures_total — check the pod's istio-proxy container (meshbox logs POD -c istio-proxy)`,
  { httpStatus: 502, retryable: true },
);

export const MetricsListenFailed = defineError(
  'MBX_TELEMETRY_LISTEN_FAILED',
  (address: string, why: string) =>
    `cannot serve mesh metrics on ${address} (${why}): another daemon or istiod may hold it; pass \`meshbox up --metrics-address HOST:PORT\` (port 0 picks a free one) or \`--metrics-address off\``,
);
