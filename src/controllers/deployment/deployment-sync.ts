/**
 * One reconcile of one Deployment (Kubernetes' pkg/controller/deployment: sync.go, rolling.go,
 * recreate.go, progress.go), over a consistent snapshot read from the store.
 *
 * Where Kubernetes reads ReplicaSet status counts (which lag behind), this reads the pods
 * themselves: the pods an RS has counts as max(spec.replicas, active pods), its available pods as
 * min(spec.replicas, available pods). So maxSurge holds for pods that still exist after their RS
 * was scaled down, and maxUnavailable holds for pods the RS controller has not deleted yet.
 * The whole reconcile is synchronous against the local store, so nothing else interleaves with it.
 */
import type { Pod } from '../../api/types.js';
import type { Logger } from '../../core/logger.js';
import { findCause } from '../../core/errors.js';
import type { Store } from '../../store/types.js';
import type { WorkloadEvents } from '../workloads-shared/pod-control.js';
import { controllerRefFor } from '../workloads-shared/controller-ref.js';
import { isPodActive, isPodAvailable, isPodReady, nextAvailableInMs } from '../workloads-shared/pod-utils.js';
import { DEPLOYMENTS, REPLICASETS, type Deployment, type DeploymentStatus, type ReplicaSet } from '../workloads-shared/types.js';
import {
  AVAILABLE,
  FOUND_NEW_RS,
  MIN_REPLICAS_AVAILABLE,
  MIN_REPLICAS_UNAVAILABLE,
  NEW_RS_CREATED,
  PAUSED,
  PROGRESSING,
  RESUMED,
  TIMED_OUT,
  getDeploymentCondition,
  newCondition,
  setDeploymentCondition,
} from './deployment-conditions.js';
import { POD_TEMPLATE_HASH_LABEL, computePodTemplateHash, templatesEqualIgnoringHash } from './pod-template-hash.js';
import {
  DEPLOYMENT_ONLY_ANNOTATIONS,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  maxRevision,
  revisionOf,
} from './revisions.js';
import { desiredReplicas, isRollingUpdate, maxSurge, maxUnavailable } from './rolling-math.js';
import { deploymentComplete, hasProgressDeadline, nextProgressCheckMs, updateProgressing } from './deployment-progress.js';

const byCreation = (a: ReplicaSet, b: ReplicaSet): number =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
  Number(a.metadata.resourceVersion ?? 0) - Number(b.metadata.resourceVersion ?? 0) ||
  a.metadata.name.localeCompare(b.metadata.name);

const specReplicas = (rs: ReplicaSet): number => rs.spec.replicas ?? 1;

export interface SyncDeps {
  store: Store;
  events: WorkloadEvents;
  log: Logger;
  now: number;
}

export class DeploymentSync {
  /** working copy: annotations and status are changed here and written at the end */
  readonly d: Deployment;
  #rss: ReplicaSet[];
  readonly #podsByRs = new Map<string, Pod[]>();
  readonly #deps: SyncDeps;
  readonly #originalStatus: string;
  readonly #originalAnnotations: string;
  #requeueAfter: number | undefined;

  constructor(d: Deployment, rss: ReplicaSet[], pods: readonly Pod[], deps: SyncDeps) {
    this.d = structuredClone(d);
    this.d.status ??= {};
    this.#rss = [...rss].sort(byCreation);
    this.#deps = deps;
    this.#originalStatus = JSON.stringify(d.status ?? {});
    this.#originalAnnotations = JSON.stringify(d.metadata.annotations ?? {});
    for (const p of pods) {
      const ref = p.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
      if (!ref) continue;
      const list = this.#podsByRs.get(ref.uid);
      if (list) list.push(p);
      else this.#podsByRs.set(ref.uid, [p]);
    }
  }

  get requeueAfter(): number | undefined {
    return this.#requeueAfter;
  }

  // === entry points (syncDeployment) ===

  run(): void {
    this.#checkPausedConditions();
    if (this.d.spec.paused) return this.#sync();
    if (this.#isScalingEvent()) return this.#sync();
    if (isRollingUpdate(this.d)) this.#rolloutRolling();
    else this.#rolloutRecreate();
  }

  /** Writes the deployment's annotations and status if they changed. */
  flush(): void {
    const { store } = this.#deps;
    const name = this.d.metadata.name;
    const ns = this.d.metadata.namespace;
    if (JSON.stringify(this.d.metadata.annotations ?? {}) !== this.#originalAnnotations) {
      const cur = store.get(DEPLOYMENTS, ns, name) as Deployment | undefined;
      if (!cur || cur.metadata.uid !== this.d.metadata.uid) return;
      store.update(DEPLOYMENTS, { ...cur, metadata: { ...cur.metadata, annotations: this.d.metadata.annotations ?? {} } });
    }
    // An empty conditions list made on the way is no change worth a write (and a watch event).
    if (this.d.status?.conditions?.length === 0) delete this.d.status.conditions;
    if (JSON.stringify(this.d.status) !== this.#originalStatus) {
      const cur = store.get(DEPLOYMENTS, ns, name) as Deployment | undefined;
      if (!cur || cur.metadata.uid !== this.d.metadata.uid) return;
      store.updateStatus(DEPLOYMENTS, { ...cur, status: this.d.status });
    }
  }

  // === pods seen through their ReplicaSets ===

  #active(rs: ReplicaSet): Pod[] {
    return (this.#podsByRs.get(rs.metadata.uid as string) ?? []).filter(isPodActive);
  }

  /** pods the RS has or will have */
  #podCount(rs: ReplicaSet): number {
    return Math.max(specReplicas(rs), this.#active(rs).length);
  }

  /** available pods the RS keeps once it has converged */
  #availableCount(rs: ReplicaSet): number {
    return Math.min(specReplicas(rs), this.#availablePods(rs).length);
  }

  #availablePods(rs: ReplicaSet): Pod[] {
    const min = this.d.spec.minReadySeconds ?? 0;
    return this.#active(rs).filter((p) => isPodAvailable(p, min, this.#deps.now));
  }

  #sumPodCount(rss: readonly ReplicaSet[]): number {
    return rss.reduce((n, rs) => n + this.#podCount(rs), 0);
  }

  // === new and old ReplicaSets (getAllReplicaSetsAndSyncRevision) ===

  #findNew(): ReplicaSet | undefined {
    return this.#rss.find((rs) => templatesEqualIgnoringHash(rs.spec.template, this.d.spec.template));
  }

  #split(create: boolean): { newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] } {
    const existing = this.#findNew();
    const oldRSs = this.#rss.filter((rs) => rs !== existing);
    const newRS = this.#syncNewReplicaSet(existing, oldRSs, create);
    return { newRS, oldRSs: this.#rss.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid) };
  }

  #syncNewReplicaSet(existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): ReplicaSet | undefined {
    const newRevision = maxRevision(oldRSs) + 1;
    const conditions = (this.d.status!.conditions ??= []);
    if (existing) {
      const copy = structuredClone(existing);
      let changed = this.#setNewReplicaSetAnnotations(copy, newRevision, true);
      const minReady = this.d.spec.minReadySeconds ?? 0;
      if ((copy.spec.minReadySeconds ?? 0) !== minReady) {
        copy.spec.minReadySeconds = minReady;
        changed = true;
      }
      const rs = changed ? this.#writeRs(copy) : existing;
      this.#setDeploymentRevision(String(revisionOf(rs)));
      if (this.#hasProgressDeadline() && !getDeploymentCondition(conditions, PROGRESSING)) {
        setDeploymentCondition(conditions, newCondition(PROGRESSING, 'True', FOUND_NEW_RS, `Found new replica set "${rs.metadata.name}"`, this.#deps.now));
      }
      return rs;
    }
    if (!create) return undefined;

    const hash = computePodTemplateHash(this.d.spec.template, this.d.status!.collisionCount);
    const template = structuredClone(this.d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const selector = structuredClone(this.d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const draft: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${this.d.metadata.name}-${hash}`,
        namespace: this.d.metadata.namespace as string,
        labels: { ...(template.metadata.labels ?? {}) },
        ownerReferences: [controllerRefFor(this.d)],
      },
      spec: { replicas: 0, minReadySeconds: this.d.spec.minReadySeconds ?? 0, selector, template },
    };
    draft.spec.replicas = this.#newRSNewReplicas([...this.#rss, draft], draft);
    this.#setNewReplicaSetAnnotations(draft, newRevision, false);

    let created: ReplicaSet;
    try {
      created = this.#deps.store.create(REPLICASETS, draft) as ReplicaSet;
    } catch (err) {
      if (!findCause(err, 'MBX_STORE_ALREADY_EXISTS')) throw err;
      const clash = this.#deps.store.get(REPLICASETS, draft.metadata.namespace, draft.metadata.name) as ReplicaSet | undefined;
      if (clash && clash.metadata.ownerReferences?.some((r) => r.controller && r.uid === this.d.metadata.uid) && templatesEqualIgnoringHash(clash.spec.template, this.d.spec.template)) {
        created = clash;
      } else {
        // A hash collision with some other ReplicaSet: a new collisionCount gives a new name.
        this.d.status!.collisionCount = (this.d.status!.collisionCount ?? 0) + 1;
        this.#deps.log.warn({ rs: draft.metadata.name }, 'pod-template-hash collision; retrying with a new collisionCount');
        throw err;
      }
    }
    this.#rss.push(created);
    const replicas = specReplicas(created);
    if (replicas > 0) {
      this.#deps.events.normal(this.d, 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    }
    this.#setDeploymentRevision(String(newRevision));
    if (this.#hasProgressDeadline()) {
      setDeploymentCondition(conditions, newCondition(PROGRESSING, 'True', NEW_RS_CREATED, `Created new replica set "${created.metadata.name}"`, this.#deps.now));
    }
    return created;
  }

  /** SetNewReplicaSetAnnotations: copy the deployment's annotations, bump the revision. */
  #setNewReplicaSetAnnotations(rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
    const annotations = (rs.metadata.annotations ??= {});
    let changed = false;
    for (const [k, v] of Object.entries(this.d.metadata.annotations ?? {})) {
      if (DEPLOYMENT_ONLY_ANNOTATIONS.has(k) || annotations[k] === v) continue;
      annotations[k] = v;
      changed = true;
    }
    const oldRevision = revisionOf(rs);
    if (oldRevision < newRevision) {
      annotations[REVISION_ANNOTATION] = String(newRevision);
      changed = true;
      if (oldRevision > 0) {
        const history = annotations[REVISION_HISTORY_ANNOTATION];
        annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${oldRevision}` : String(oldRevision);
      }
    }
    if (!exists && this.#setReplicasAnnotations(rs)) changed = true;
    return changed;
  }

  #setReplicasAnnotations(rs: ReplicaSet): boolean {
    const annotations = (rs.metadata.annotations ??= {});
    const desired = String(desiredReplicas(this.d));
    const max = String(desiredReplicas(this.d) + maxSurge(this.d));
    if (annotations[DESIRED_REPLICAS_ANNOTATION] === desired && annotations[MAX_REPLICAS_ANNOTATION] === max) return false;
    annotations[DESIRED_REPLICAS_ANNOTATION] = desired;
    annotations[MAX_REPLICAS_ANNOTATION] = max;
    return true;
  }

  #setDeploymentRevision(revision: string): void {
    const annotations = (this.d.metadata.annotations ??= {});
    if (annotations[REVISION_ANNOTATION] !== revision) annotations[REVISION_ANNOTATION] = revision;
  }

  /** Writes an RS spec/metadata change against the latest stored version and refreshes our copy. */
  #writeRs(rs: ReplicaSet): ReplicaSet {
    const { store } = this.#deps;
    const cur = store.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name) as ReplicaSet | undefined;
    if (!cur || cur.metadata.uid !== rs.metadata.uid) throw new Error(`replica set ${rs.metadata.name} changed identity`);
    const written = store.update(REPLICASETS, { ...cur, metadata: { ...cur.metadata, annotations: rs.metadata.annotations ?? {} }, spec: rs.spec }) as ReplicaSet;
    this.#rss = this.#rss.map((x) => (x.metadata.uid === written.metadata.uid ? written : x));
    return written;
  }

  /** scaleReplicaSetAndRecordEvent; returns the (possibly) updated RS and whether its size changed. */
  #scale(rs: ReplicaSet, newScale: number): { rs: ReplicaSet; scaled: boolean } {
    const copy = structuredClone(rs);
    const from = specReplicas(rs);
    const sizeChanged = from !== newScale;
    const annotationsChanged = this.#setReplicasAnnotations(copy);
    if (!sizeChanged && !annotationsChanged) return { rs, scaled: false };
    copy.spec.replicas = newScale;
    const written = this.#writeRs(copy);
    if (sizeChanged) {
      const dir = newScale > from ? 'up' : 'down';
      this.#deps.events.normal(this.d, 'ScalingReplicaSet', `Scaled ${dir} replica set ${rs.metadata.name} from ${from} to ${newScale}`);
    }
    return { rs: written, scaled: sizeChanged };
  }

  #current(rs: ReplicaSet): ReplicaSet {
    return this.#rss.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
  }

  // === rolling update (rolling.go) ===

  #rolloutRolling(): void {
    let { newRS, oldRSs } = this.#split(true);
    if (!newRS) return;
    if (this.#reconcileNewReplicaSet(newRS)) return this.#syncRolloutStatus();
    newRS = this.#current(newRS);
    if (this.#reconcileOldReplicaSets(oldRSs.map((r) => this.#current(r)), newRS)) return this.#syncRolloutStatus();
    if (this.#complete(this.#calculateStatus())) this.#cleanup();
    this.#syncRolloutStatus();
  }

  #reconcileNewReplicaSet(newRS: ReplicaSet): boolean {
    const want = desiredReplicas(this.d);
    const have = specReplicas(newRS);
    if (have === want) return false;
    if (have > want) return this.#scale(newRS, want).scaled;
    return this.#scale(newRS, this.#newRSNewReplicas(this.#rss, newRS)).scaled;
  }

  /** NewRSNewReplicas: how far the new RS may grow now. */
  #newRSNewReplicas(allRSs: readonly ReplicaSet[], newRS: ReplicaSet): number {
    const want = desiredReplicas(this.d);
    if (!isRollingUpdate(this.d)) return want;
    const current = this.#sumPodCount(allRSs);
    const maxTotal = want + maxSurge(this.d);
    if (current >= maxTotal) return specReplicas(newRS);
    const up = Math.min(maxTotal - current, want - specReplicas(newRS));
    return specReplicas(newRS) + Math.max(0, up);
  }

  #reconcileOldReplicaSets(oldRSs: ReplicaSet[], newRS: ReplicaSet): boolean {
    const oldPods = this.#sumPodCount(oldRSs);
    if (oldPods === 0) return false;
    const allPods = this.#sumPodCount([...oldRSs, newRS]);
    const minAvailable = desiredReplicas(this.d) - maxUnavailable(this.d);
    const newUnavailable = specReplicas(newRS) - this.#availableCount(newRS);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const cleaned = this.#cleanupUnhealthyReplicas(oldRSs, maxScaledDown);
    const scaledDown = this.#scaleDownOldForRollingUpdate(oldRSs.map((r) => this.#current(r)), this.#current(newRS));
    return cleaned + scaledDown > 0;
  }

  /** Scales down old pods that are not available first: they serve nothing anyway. */
  #cleanupUnhealthyReplicas(oldRSs: ReplicaSet[], maxCleanup: number): number {
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanup) break;
      const replicas = specReplicas(rs);
      if (replicas === 0) continue;
      const unhealthy = replicas - this.#availableCount(rs);
      if (unhealthy <= 0) continue;
      const down = Math.min(maxCleanup - total, unhealthy);
      this.#scale(rs, replicas - down);
      total += down;
    }
    return total;
  }

  #scaleDownOldForRollingUpdate(oldRSs: ReplicaSet[], newRS: ReplicaSet): number {
    const minAvailable = desiredReplicas(this.d) - maxUnavailable(this.d);
    const available = [...oldRSs, newRS].reduce((n, rs) => n + this.#availableCount(rs), 0);
    if (available <= minAvailable) return 0;
    const totalDown = available - minAvailable;
    let done = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (done >= totalDown) break;
      const replicas = specReplicas(rs);
      if (replicas === 0) continue;
      const down = Math.min(replicas, totalDown - done);
      this.#scale(rs, replicas - down);
      done += down;
    }
    return done;
  }

  // === recreate (recreate.go) ===

  #rolloutRecreate(): void {
    let { newRS, oldRSs } = this.#split(false);
    let scaledDown = false;
    for (const rs of oldRSs) if (specReplicas(rs) > 0 && this.#scale(rs, 0).scaled) scaledDown = true;
    if (scaledDown) return this.#syncRolloutStatus();
    if (this.#oldPodsRunning(newRS)) return this.#syncRolloutStatus();
    if (!newRS) ({ newRS, oldRSs } = this.#split(true));
    if (newRS) this.#scale(this.#current(newRS), desiredReplicas(this.d));
    if (this.#complete(this.#calculateStatus())) this.#cleanup();
    this.#syncRolloutStatus();
  }

  /** Any pod of an old RS that has not finished, terminating ones included. */
  #oldPodsRunning(newRS: ReplicaSet | undefined): boolean {
    for (const rs of this.#rss) {
      if (rs.metadata.uid === newRS?.metadata.uid) continue;
      for (const p of this.#podsByRs.get(rs.metadata.uid as string) ?? []) {
        if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') return true;
      }
    }
    return false;
  }

  // === scaling and paused (sync.go) ===

  #isScalingEvent(): boolean {
    const { newRS, oldRSs } = this.#split(false);
    const want = String(desiredReplicas(this.d));
    for (const rs of [...oldRSs, ...(newRS ? [newRS] : [])]) {
      if (specReplicas(rs) === 0) continue;
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (desired !== undefined && desired !== want) return true;
    }
    return false;
  }

  #sync(): void {
    const { newRS, oldRSs } = this.#split(false);
    this.#scaleForSync(newRS, oldRSs);
    if (this.d.spec.paused) this.#cleanup();
    const status = this.#calculateStatus();
    this.#applyStatus(status);
  }

  /** dc.scale: one active RS takes the new size; several share it proportionally. */
  #scaleForSync(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): void {
    const want = desiredReplicas(this.d);
    const activeOrLatest = this.#activeOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (specReplicas(activeOrLatest) !== want || activeOrLatest.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] !== String(want)) {
        this.#scale(activeOrLatest, want);
      }
      return;
    }
    if (newRS && specReplicas(newRS) === want && this.#availableCount(newRS) === want) {
      for (const rs of oldRSs) if (specReplicas(rs) > 0) this.#scale(rs, 0);
      return;
    }
    if (!isRollingUpdate(this.d)) return;
    const active = [...oldRSs, ...(newRS ? [newRS] : [])].filter((rs) => specReplicas(rs) > 0);
    const current = active.reduce((n, rs) => n + specReplicas(rs), 0);
    const allowed = want > 0 ? want + maxSurge(this.d) : 0;
    const toAdd = allowed - current;
    if (toAdd === 0) return;
    // Larger first; on ties newer first when adding, older first when removing (ReplicaSetsBySize*).
    active.sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of active) {
      const proportion = this.#proportion(rs, toAdd, added);
      sizes.set(rs.metadata.uid as string, specReplicas(rs) + proportion);
      added += proportion;
    }
    const first = active[0];
    if (first) {
      const uid = first.metadata.uid as string;
      sizes.set(uid, Math.max(0, (sizes.get(uid) ?? 0) + (toAdd - added)));
    }
    for (const rs of active) this.#scale(this.#current(rs), sizes.get(rs.metadata.uid as string) ?? specReplicas(rs));
  }

  #proportion(rs: ReplicaSet, toAdd: number, added: number): number {
    if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
    const want = desiredReplicas(this.d);
    let fraction: number;
    if (want === 0) fraction = -specReplicas(rs);
    else {
      const total = want + maxSurge(this.d);
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION] ?? this.d.status?.replicas ?? 0) || 1;
      fraction = Math.round((specReplicas(rs) * total) / annotated) - specReplicas(rs);
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  #activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
    if (!newRS && oldRSs.length === 0) return undefined;
    const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
    const active = [...newestFirst, ...(newRS ? [newRS] : [])].filter((rs) => specReplicas(rs) > 0);
    if (active.length === 0) return newRS ?? newestFirst[0];
    if (active.length === 1) return active[0];
    return undefined;
  }

  #checkPausedConditions(): void {
    if (!this.#hasProgressDeadline()) return;
    const conditions = (this.d.status!.conditions ??= []);
    const cond = getDeploymentCondition(conditions, PROGRESSING);
    if (cond?.reason === TIMED_OUT) return;
    const pausedCond = cond?.reason === PAUSED;
    if (this.d.spec.paused && !pausedCond) {
      setDeploymentCondition(conditions, newCondition(PROGRESSING, 'Unknown', PAUSED, 'Deployment is paused', this.#deps.now));
    } else if (!this.d.spec.paused && pausedCond) {
      setDeploymentCondition(conditions, newCondition(PROGRESSING, 'Unknown', RESUMED, 'Deployment is resumed', this.#deps.now));
    }
  }

  // === history (revisionHistoryLimit) ===

  #cleanup(): void {
    const limit = this.d.spec.revisionHistoryLimit ?? 10;
    const newRS = this.#findNew();
    const cleanable = this.#rss.filter((rs) => rs !== newRS && !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      if (specReplicas(rs) !== 0 || (rs.status?.replicas ?? 0) !== 0 || this.#active(rs).length > 0) continue;
      if ((rs.metadata.generation ?? 1) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        this.#deps.store.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name, { uid: rs.metadata.uid as string });
        this.#deps.log.info({ rs: rs.metadata.name }, 'deleted old replica set beyond revisionHistoryLimit');
      } catch (err) {
        if (!findCause(err, 'MBX_STORE_CONFLICT')) throw err;
      }
      this.#rss = this.#rss.filter((x) => x.metadata.uid !== rs.metadata.uid);
    }
  }

  // === status (progress.go, sync.go calculateStatus) ===

  #calculateStatus(): DeploymentStatus {
    const newRS = this.#findNew();
    const min = this.d.spec.minReadySeconds ?? 0;
    let replicas = 0;
    let ready = 0;
    let available = 0;
    let total = 0;
    for (const rs of this.#rss) {
      const active = this.#active(rs);
      replicas += active.length;
      ready += active.filter(isPodReady).length;
      available += active.filter((p) => isPodAvailable(p, min, this.#deps.now)).length;
      total += specReplicas(rs);
    }
    const status: DeploymentStatus = {
      observedGeneration: this.d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: newRS ? this.#active(newRS).length : 0,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      conditions: (this.d.status?.conditions ?? []).map((c) => ({ ...c })),
      ...(this.d.status?.collisionCount !== undefined ? { collisionCount: this.d.status.collisionCount } : {}),
    };
    const conditions = status.conditions!;
    if (available >= desiredReplicas(this.d) - maxUnavailable(this.d)) {
      setDeploymentCondition(conditions, newCondition(AVAILABLE, 'True', MIN_REPLICAS_AVAILABLE, 'Deployment has minimum availability.', this.#deps.now));
    } else {
      setDeploymentCondition(conditions, newCondition(AVAILABLE, 'False', MIN_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.', this.#deps.now));
    }
    return status;
  }

  #complete(status: DeploymentStatus): boolean {
    return deploymentComplete(this.d, status);
  }

  #hasProgressDeadline(): boolean {
    return hasProgressDeadline(this.d);
  }

  #syncRolloutStatus(): void {
    const status = this.#calculateStatus();
    updateProgressing(this.d, status, this.#findNew()?.metadata.name, this.#deps.now);
    this.#applyStatus(status);
    const check = nextProgressCheckMs(this.d, status, this.#deps.now);
    if (check !== undefined) this.#requeue(check);
  }

  #applyStatus(status: DeploymentStatus): void {
    this.d.status = status;
    const pods = this.#rss.flatMap((rs) => this.#active(rs));
    const wait = nextAvailableInMs(pods, this.d.spec.minReadySeconds ?? 0, this.#deps.now);
    if (wait !== undefined) this.#requeue(wait);
  }

  #requeue(ms: number): void {
    this.#requeueAfter = this.#requeueAfter === undefined ? ms : Math.min(this.#requeueAfter, ms);
  }
}
