/**
 * What the API server does to an object before it is stored, beyond validation: Kubernetes'
 * defaults, then the work of built-in admission plugins and the scheduler that meshbox folds in.
 */
import { applyDefaults } from '../api/defaults.js';
import type { ResourceType } from '../api/resources.js';
import type { KubeObject, Pod } from '../api/types.js';
import { POD_FINALIZER } from '../controllers/pods/pod-reconciler.js';
import { isInjected } from '../controllers/injection/sidecar-injector.js';

export interface AdmissionOptions {
  nodeName: string;
  /** allocates ClusterIPs and NodePorts (ClusterIpAllocator.admitService) */
  admitService?: (svc: KubeObject, old?: KubeObject) => KubeObject;
  /** sidecar injection (Istio's mutating webhook), for new pods */
  injectPod?: (pod: Pod) => Pod;
  /** the same injection, unconditionally: an update of an injected pod keeps its sidecar */
  reinjectPod?: (pod: Pod) => Pod;
}

export function createAdmission(options: AdmissionOptions): (resource: ResourceType, obj: KubeObject, old?: KubeObject) => KubeObject {
  return (resource, input, old) => {
    const obj = applyDefaults(input);
    switch (resource.kind) {
      case 'Namespace':
        // the NamespaceDefaultLabelName admission: lets NetworkPolicies select namespaces by name
        obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
        break;
      case 'Service':
        return options.admitService ? options.admitService(obj, old) : obj;
      case 'Pod': {
        const pod = obj as Pod;
        if (!old) {
          // one machine: scheduling is binding to it; the finalizer makes teardown survive a crash
          pod.spec.nodeName ??= options.nodeName;
          const finalizers = pod.metadata.finalizers ?? [];
          if (!finalizers.includes(POD_FINALIZER)) pod.metadata.finalizers = [...finalizers, POD_FINALIZER];
          if (options.injectPod) return applyDefaults(options.injectPod(pod));
        } else if (options.reinjectPod && isInjected(old as Pod) && !isInjected(pod)) {
          // Re-applying the manifest a pod was made from must not strip what admission added to it
          // (kubectl's three-way merge keeps server-added fields; meshbox's apply replaces the object).
          return applyDefaults(options.reinjectPod(pod));
        }
        break;
      }
    }
    return obj;
  };
}
