/** Pods made from a workload's pod template (Kubernetes' GetPodFromTemplate). */
import type { KubeObject, Pod } from '../../api/types.js';
import { defaultPodSpec } from '../../api/defaults.js';
import { describeError } from '../../core/errors.js';
import { selectorFromObject, type LabelSelector, type Selector } from '../../store/label-selector.js';
import { terminal } from '../../reconcile/controller.js';
import { controllerRefFor } from './controller-ref.js';
import { EmptySelector, InvalidSelector } from './errors.js';
import type { WorkloadEvents } from './pod-control.js';
import type { PodTemplateSpec } from './types.js';

/** Kubernetes caps generateName prefixes so that prefix + 5 random characters fit 63. */
const MAX_GENERATE_NAME = 58;

export function podFromTemplate(
  template: PodTemplateSpec,
  owner: KubeObject,
  extraLabels: Record<string, string> = {},
): Pod {
  const meta = template.metadata ?? {};
  let prefix = `${owner.metadata.name}-`;
  if (prefix.length > MAX_GENERATE_NAME) prefix = prefix.slice(0, MAX_GENERATE_NAME);
  const spec = structuredClone(template.spec) as unknown as Record<string, unknown>;
  // The API server defaults templates already; templates written straight to the store may not be.
  defaultPodSpec(spec);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      // The store fills name from generateName with a Kubernetes-style 5-character random suffix.
      name: '',
      generateName: prefix,
      namespace: owner.metadata.namespace as string,
      labels: { ...(meta.labels ?? {}), ...extraLabels },
      ...(meta.annotations && Object.keys(meta.annotations).length ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [controllerRefFor(owner)],
    },
    spec: spec as unknown as Pod['spec'],
  };
}

/** Compiles a workload's selector; an empty or invalid one is an error the user must fix. */
export function workloadSelector(owner: KubeObject, selector: LabelSelector | undefined): Selector {
  let compiled: Selector;
  try {
    compiled = selectorFromObject(selector);
  } catch (err) {
    throw InvalidSelector(owner.kind, owner.metadata.name, describeError(err), { cause: err });
  }
  if (selector === undefined || compiled.empty) throw EmptySelector(owner.kind, owner.metadata.name);
  return compiled;
}

/**
 * workloadSelector inside a reconcile: a bad selector is reported once as a warning event with
 * `reason` and stops the key (terminal), since retrying cannot fix it.
 */
export function workloadSelectorOrStop(events: WorkloadEvents, owner: KubeObject, selector: LabelSelector | undefined, reason: string): Selector {
  try {
    return workloadSelector(owner, selector);
  } catch (err) {
    events.warning(owner, reason, (err as Error).message);
    throw terminal(err);
  }
}
