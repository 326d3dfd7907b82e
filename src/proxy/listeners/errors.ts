/**
 * Errors of original-destination handling (SO_ORIGINAL_DST, passthrough). The flag each one maps
 * to is registered in the proxy's FLAG_BY_CODE here, so the rescue answers with it.
 */
import { defineError } from '../../core/errors.js';
import { FLAG_BY_CODE, type FailureContext } from '../errors.js';

export const OriginalDstUnavailable = defineError(
  'MBX_PROXY_ORIGINAL_DST_UNAVAILABLE',
  (listener: string, why: string) =>
    `listener ${listener} needs the original destination of redirected connections, but the native addon meshbox-original-dst cannot be loaded (${why}); build it with npm ci or npm rebuild meshbox-original-dst (needs g++, make and python3), or remove originalDst from the listener`,
);

export const NoOriginalDstRoute = defineError(
  'MBX_PROXY_NO_ORIGINAL_DST_ROUTE',
  (c: FailureContext, listener: string, authority: string, destination: string, why: string) =>
    `no route for host ${JSON.stringify(authority)} nor for the original destination ${destination} on listener ${listener} (proxy ${c.proxy}), and ${why}; add a Service or ServiceEntry for this destination, or allow passthrough (originalDst.passthrough, Istio's outboundTrafficPolicy ALLOW_ANY)`,
  { httpStatus: 502 },
);

// Envoy answers a request that no filter chain or route serves with NR (BlackHoleCluster: 502).
FLAG_BY_CODE[NoOriginalDstRoute.code] = 'NR';
