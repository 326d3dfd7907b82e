/** Deployment, ReplicaSet (apps/v1) and Job (batch/v1). */
import { dns1123Subdomain, type Format } from '../formats.js';
import {
  boolean,
  ignored,
  integer,
  intOrString,
  object,
  oneOf,
  rejected,
  required,
  type Check,
} from '../schema.js';
import { isPlainObject } from '../walk-schema.js';
import { kindSchema, labelSelector, selectorMatches } from './meta.js';
import { podTemplateSpec } from './pod.js';

type Json = Record<string, unknown>;

const percent: Format = {
  name: 'percentage',
  check: (v) => (/^\d+%$/.test(v) ? undefined : `${JSON.stringify(v)} is neither an integer nor a percentage like "25%"`),
};

function templateOf(obj: Json): { spec: Json; template: Json; podSpec: Json } | undefined {
  const spec = obj.spec;
  if (!isPlainObject(spec) || !isPlainObject(spec.template)) return undefined;
  const podSpec = isPlainObject(spec.template.spec) ? spec.template.spec : {};
  return { spec, template: spec.template, podSpec };
}

/** The selector must select the template's labels, or the controller would never see its own pods. */
const selectorSelectsTemplate: Check = (obj: Json, ctx) => {
  const t = templateOf(obj);
  if (!t || !isPlainObject(t.spec.selector)) return;
  const meta = isPlainObject(t.template.metadata) ? t.template.metadata : {};
  const labels = isPlainObject(meta.labels) ? (meta.labels as Record<string, unknown>) : {};
  const selector = t.spec.selector;
  const empty = !isPlainObject(selector.matchLabels) && !Array.isArray(selector.matchExpressions);
  if (empty) {
    ctx.error(['spec', 'selector'], 'an empty selector would select every pod; set matchLabels to the template labels');
  } else if (!selectorMatches(selector, labels)) {
    ctx.error(['spec', 'template', 'metadata', 'labels'], 'the template labels do not match spec.selector; the pods must carry the labels the selector asks for', 'missing');
  }
};

const restartPolicyAlways: Check = (obj: Json, ctx) => {
  const t = templateOf(obj);
  const policy = t?.podSpec.restartPolicy;
  if (policy !== undefined && policy !== null && policy !== 'Always') {
    ctx.error(['spec', 'template', 'spec', 'restartPolicy'], `must be Always for a ${String(obj.kind)}, got ${JSON.stringify(policy)}; use a Job for run-to-completion pods`);
  }
};

const rollingUpdate = object({
  maxSurge: intOrString({ min: 0, format: percent }),
  maxUnavailable: intOrString({ min: 0, format: percent }),
});

const checkStrategy: Check = (obj: Json, ctx) => {
  const spec = obj.spec;
  if (!isPlainObject(spec) || !isPlainObject(spec.strategy)) return;
  const { type, rollingUpdate: ru } = spec.strategy;
  if (type === 'Recreate' && ru !== undefined && ru !== null) {
    ctx.error(['spec', 'strategy', 'rollingUpdate'], 'may not be set when the strategy type is Recreate', 'key');
  }
  if (isPlainObject(ru)) {
    const zero = (v: unknown) => v === 0 || v === '0%';
    if (zero(ru.maxSurge) && zero(ru.maxUnavailable)) {
      ctx.error(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable'], 'maxSurge and maxUnavailable may not both be 0: the rollout could never progress');
    }
  }
  if (typeof spec.progressDeadlineSeconds === 'number' && typeof spec.minReadySeconds === 'number' && spec.progressDeadlineSeconds <= spec.minReadySeconds) {
    ctx.error(['spec', 'progressDeadlineSeconds'], 'must be greater than minReadySeconds');
  }
};

export const deploymentSchema = kindSchema(
  dns1123Subdomain,
  {
    spec: required(
      object({
        replicas: integer({ min: 0 }),
        selector: required(labelSelector),
        template: required(podTemplateSpec),
        strategy: object({ type: oneOf('RollingUpdate', 'Recreate'), rollingUpdate }),
        minReadySeconds: integer({ min: 0 }),
        revisionHistoryLimit: integer({ min: 0 }),
        progressDeadlineSeconds: integer({ min: 1 }),
        paused: boolean(),
      }),
    ),
  },
  selectorSelectsTemplate,
  restartPolicyAlways,
  checkStrategy,
);

export const replicaSetSchema = kindSchema(
  dns1123Subdomain,
  {
    spec: required(
      object({
        replicas: integer({ min: 0 }),
        selector: required(labelSelector),
        template: podTemplateSpec,
        minReadySeconds: integer({ min: 0 }),
      }),
    ),
  },
  selectorSelectsTemplate,
  restartPolicyAlways,
);

const restartPolicyForJob: Check = (obj: Json, ctx) => {
  const t = templateOf(obj);
  if (!t) return;
  const policy = t.podSpec.restartPolicy;
  if (policy !== 'OnFailure' && policy !== 'Never') {
    const anchor = policy === undefined || policy === null ? 'missing' : 'value';
    ctx.error(['spec', 'template', 'spec', 'restartPolicy'], `a Job's pods need restartPolicy OnFailure or Never${anchor === 'value' ? `, got ${JSON.stringify(policy)}` : ''}`, anchor);
  }
};

const jobSelector: Check = (obj: Json, ctx) => {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return;
  if (spec.selector !== undefined && spec.selector !== null && spec.manualSelector !== true) {
    ctx.error(['spec', 'selector'], 'meshbox generates a Job\'s selector; remove it (or set manualSelector: true)', 'key');
  }
  if (spec.manualSelector === true) selectorSelectsTemplate(obj, ctx);
};

const UNSUPPORTED_JOB = 'not supported by meshbox Jobs; use backoffLimit';

export const jobSchema = kindSchema(
  dns1123Subdomain,
  {
    spec: required(
      object({
        parallelism: integer({ min: 0 }),
        completions: integer({ min: 0 }),
        backoffLimit: integer({ min: 0 }),
        activeDeadlineSeconds: integer({ min: 1 }),
        ttlSecondsAfterFinished: integer({ min: 0 }),
        selector: labelSelector,
        manualSelector: boolean(),
        template: required(podTemplateSpec),
        completionMode: oneOf('NonIndexed'),
        suspend: boolean(),
        podReplacementPolicy: ignored('meshbox replaces failed pods once they have terminated', oneOf('TerminatingOrFailed', 'Failed')),
        podFailurePolicy: rejected(UNSUPPORTED_JOB),
        backoffLimitPerIndex: rejected('indexed Jobs are not supported'),
        maxFailedIndexes: rejected('indexed Jobs are not supported'),
        successPolicy: rejected(UNSUPPORTED_JOB),
        managedBy: rejected('meshbox always manages its Jobs'),
      }),
    ),
  },
  restartPolicyForJob,
  jobSelector,
);
