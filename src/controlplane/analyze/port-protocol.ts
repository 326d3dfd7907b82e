/** Service ports whose name prefix (http-…, tcp-…) and appProtocol name different protocols. */
import type { Service } from '../translate/mesh-types.js';
import { objectName } from '../translate/build-routes.js';
import { portProtocol } from '../translate/protocol.js';
import type { TranslationWarning } from '../../meshconfig/xds/status.js';

export function portProtocolMismatches(svc: Service): TranslationWarning[] {
  const out: TranslationWarning[] = [];
  (svc.spec.ports ?? []).forEach((p, i) => {
    if (!p.name || !p.appProtocol) return;
    const byName = portProtocol({ name: p.name });
    const byApp = portProtocol({ appProtocol: p.appProtocol });
    // "auto" means the name or appProtocol names no protocol meshbox knows: nothing to contradict
    if (byName === 'auto' || byApp === 'auto' || byName === byApp) return;
    out.push({
      code: 'MBX_ANALYZE_PORT_PROTOCOL_MISMATCH',
      object: objectName(svc),
      field: `spec.ports[${i}].appProtocol`,
      message: `port name ${p.name} says ${byName} but appProtocol ${p.appProtocol} says ${byApp}; the proxy follows appProtocol (${byApp}): rename the port (${byApp}-…) or fix appProtocol`,
    });
  });
  return out;
}
