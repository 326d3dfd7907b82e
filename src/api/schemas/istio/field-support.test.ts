import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KIND_SCHEMAS } from '../kind-schemas.js';
import { fieldSupport } from './field-support.js';

const ISTIO_KINDS = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar'];

describe('Istio field support', () => {
  it('every Istio kind is registered', () => {
    for (const kind of ISTIO_KINDS) assert.ok(KIND_SCHEMAS.get(kind), kind);
  });

  it('lists what meshbox refuses, with the fields the issue names', () => {
    const vs = fieldSupport(KIND_SCHEMAS.get('VirtualService')!);
    const rejected = vs.filter((f) => f.support === 'rejected').map((f) => f.path);
    for (const p of ['spec.tls', 'spec.tcp[].match[].sourceLabels', 'spec.http[].delegate', 'spec.http[].corsPolicy', 'spec.http[].mirrors', 'spec.http[].fault.abort.grpcStatus', 'spec.http[].match[].sourceNamespace']) {
      assert.ok(rejected.includes(p), `${p} should be refused; refused: ${rejected.join(', ')}`);
    }
    const deprecated = vs.filter((f) => f.support === 'deprecated').map((f) => f.path);
    assert.deepEqual(deprecated, ['spec.http[].fault.delay.percent', 'spec.http[].fault.abort.percent']);
    const dr = fieldSupport(KIND_SCHEMAS.get('DestinationRule')!).filter((f) => f.support === 'rejected').map((f) => f.path);
    for (const p of ['spec.trafficPolicy.tls', 'spec.workloadSelector', 'spec.subsets[].trafficPolicy.tls', 'spec.trafficPolicy.portLevelSettings[].tls']) {
      assert.ok(dr.includes(p), `${p} should be refused`);
    }
  });

  it('lists the Sidecar fields the translator cannot act on (refused) and the one it ignores (warned)', () => {
    const sc = fieldSupport(KIND_SCHEMAS.get('Sidecar')!);
    const rejected = sc.filter((f) => f.support === 'rejected').map((f) => f.path);
    for (const p of ['spec.ingress', 'spec.egress[].bind']) assert.ok(rejected.includes(p), `${p} should be refused; refused: ${rejected.join(', ')}`);
    assert.deepEqual(sc.filter((f) => f.support === 'ignored').map((f) => f.path), ['spec.egress[].port.protocol']);
  });

  it('every refusal says what to do instead', () => {
    for (const kind of ISTIO_KINDS) {
      for (const f of fieldSupport(KIND_SCHEMAS.get(kind)!)) {
        assert.ok(f.note.length > 20, `${kind} ${f.path}: note too short`);
        if (f.support === 'rejected') assert.match(f.note, /\b(remove|use|write)\b/i, `${kind} ${f.path}: "${f.note}" should say what to do`);
      }
    }
  });
});
