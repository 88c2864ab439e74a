/**
 * StatefulSet controller (kubernetes pkg/controller/statefulset, reduced to one process): stable pod identities
 * `<set>-<ordinal>`, PVCs from volumeClaimTemplates created before their pod, OrderedReady and Parallel pod
 * management, ControllerRevisions with RollingUpdate (partition) and OnDelete, the PVC retention policy expressed as
 * ownerReferences (stateful_set_utils.go isClaimOwnerUpToDate / updateClaimOwnerRefForSetAndPod), adoption and release
 * through controller references, and the status block. Level-triggered: every pass recomputes from the store.
 *
 * Version differences follow the upstream history: 1.6 (apps/v1beta1, no revisions, identity in the beta hostname
 * annotations, status.replicas counting ready pods until PR #46669), pod-name label 1.9, pod-index label 1.28, claim
 * template labels kept beside the selector labels from 1.15 (PR #74941), RecreatingFailedPod events 1.10-1.29 (PR
 * #55316, removed with the recreate-on-next-sync rework of PR #123809), minReadySeconds 1.23, retention policy refs as
 * plain owner references before 1.31 and controller references after.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KObject, OwnerReference } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import { selectorMatches, type LabelSelectorObject } from '../apiserver/selectors.js';
import { informer, objectKey, splitKey, WorkQueue, type Controller, type ControllerContext } from './framework.js';

const PODS = 'core/pods';
const PVCS = 'core/persistentvolumeclaims';
const SETS = 'apps/statefulsets';
const REVISIONS = 'apps/controllerrevisions';
export const REVISION_LABEL = 'controller-revision-hash';
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
const HASH_LABEL = 'controller.kubernetes.io/hash';

type Policy = 'Retain' | 'Delete';

interface ClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { volumes?: Volume[]; [k: string]: unknown };
}

interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [k: string]: unknown;
}

export interface StatefulSet extends KObject {
  spec: {
    replicas?: number;
    selector?: LabelSelectorObject;
    serviceName?: string;
    template: PodTemplate;
    volumeClaimTemplates?: ClaimTemplate[];
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { partition?: number } };
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    ordinals?: { start?: number };
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: Policy; whenScaled?: Policy };
  };
  status?: Record<string, unknown> & { currentRevision?: string; updateRevision?: string; collisionCount?: number };
}

interface Pod extends KObject {
  spec?: { volumes?: Volume[]; hostname?: string; subdomain?: string; [k: string]: unknown };
  status?: { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

interface Revision extends KObject {
  data?: unknown;
  revision?: number;
}

export interface StatefulSetControllerOptions {
  /** StatefulSetAutoDeletePVC explicitly enabled where it is alpha (1.23-1.26; off by default there). */
  autoDeletePVCAlpha?: boolean;
  /** Periodic full resync (the real informer resyncs); default 30 s. */
  resyncMs?: number;
  now?: () => Date;
}

const parentAndOrdinal = (name: string): { parent: string; ordinal: number } => {
  const m = /^(.*)-([0-9]+)$/.exec(name);
  return m ? { parent: m[1]!, ordinal: Number(m[2]) } : { parent: '', ordinal: -1 };
};

const controllerRefOf = (o: KObject): OwnerReference | undefined => o.metadata.ownerReferences?.find((r) => r.controller === true);

const isTerminating = (p: KObject) => !!p.metadata.deletionTimestamp;

export function isRunningAndReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * history.HashControllerRevision: 32-bit FNV-1 (hash/fnv New32) over the revision data and then the decimal collision
 * count (the controller always passes one), printed in decimal and mapped through rand.SafeEncodeString.
 */
function revisionHash(data: unknown, collisionCount: number): string {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(JSON.stringify(data) + String(collisionCount));
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  const alphanums = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(h)].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('');
}

/** The revision data: only the pod template, as a strategic-merge replace patch (getPatch upstream). */
function revisionData(set: StatefulSet): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...structuredClone(set.spec.template), $patch: 'replace' } } };
}

function templateOf(rev: Revision | undefined, set: StatefulSet): PodTemplate {
  const t = (rev?.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!t) return set.spec.template;
  const copy = structuredClone(t);
  delete copy.$patch;
  return copy as PodTemplate;
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private ctx!: ControllerContext;
  private queue!: WorkQueue;
  private stops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;
  /** Earliest moment (ms) a pod of the set being synced becomes available (minReadySeconds); the pass requeues then. */
  private nextAvailable: number | undefined;

  constructor(private readonly opts: StatefulSetControllerOptions = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => ctx.log('statefulset sync failed', { key, error: String(err) }),
    );
    this.stops.push(informer(ctx.store, SETS, (ev) => this.queue.add(objectKey(ev.object))));
    this.stops.push(informer(ctx.store, PODS, (ev) => this.podChanged(ev.object as Pod)));
    this.timer = setInterval(() => {
      for (const s of ctx.store.list(SETS).items) this.queue.add(objectKey(s));
    }, this.opts.resyncMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    if (this.timer) clearInterval(this.timer);
    this.queue?.stop();
  }

  /** Resolves when no sync is queued or running (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The event source: `statefulset` in the 1.6 controller, `statefulset-controller` from 1.7. */
  private get component(): { component: string } {
    return { component: this.ctx.profile.minor < 7 ? 'statefulset' : 'statefulset-controller' };
  }

  private event(set: StatefulSet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.events.record(set, type, reason, message, this.component);
  }

  /** Whether this profile runs the retention policy (StatefulSetAutoDeletePVC). */
  get retentionEnabled(): boolean {
    const st = this.ctx.profile.pvcRetentionPolicy;
    return st === 'beta' || st === 'ga' || (st === 'alpha' && !!this.opts.autoDeletePVCAlpha);
  }

  private podChanged(pod: Pod): void {
    const ns = pod.metadata.namespace!;
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind === 'StatefulSet') this.queue.add(`${ns}/${ref.name}`);
      return;
    }
    // An orphan: every set that could adopt it takes a look.
    for (const s of this.ctx.store.list(SETS, ns).items as StatefulSet[]) if (selectorMatches(s.spec.selector, pod.metadata.labels)) this.queue.add(objectKey(s));
  }

  private get hasRevisions(): boolean {
    return this.ctx.store.keys().includes(REVISIONS);
  }

  private setApiVersion(): string {
    const t = this.ctx.store.type(SETS);
    return `${t.group}/${t.version}`;
  }

  private setRef(set: StatefulSet): OwnerReference {
    return { apiVersion: this.setApiVersion(), kind: 'StatefulSet', name: set.metadata.name!, uid: set.metadata.uid!, controller: true, blockOwnerDeletion: true };
  }

  /** One pass for one StatefulSet. */
  sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const store = this.ctx.store;
    const set = store.get(SETS, namespace, name) as StatefulSet | undefined;
    if (!set) return;
    this.nextAvailable = undefined;
    if (set.metadata.deletionTimestamp) {
      // Being deleted: the garbage collector owns the dependents; only the status follows what is left.
      const byName = (n: unknown) => (typeof n === 'string' ? ({ metadata: { name: n } } as Revision) : undefined);
      const current = byName(set.status?.currentRevision);
      const update = byName(set.status?.updateRevision);
      this.writeStatus(set, this.countStatus(set, current, update), current, update, set.status?.collisionCount ?? 0);
      return;
    }
    const pods = this.claimPods(set);
    let current: Revision | undefined;
    let update: Revision | undefined;
    let collisionCount = set.status?.collisionCount ?? 0;
    if (this.hasRevisions) ({ current, update, collisionCount } = this.revisions(set));
    this.reconcile(set, pods, current, update);
    this.writeStatus(set, this.countStatus(set, current, update), current, update, collisionCount);
    if (this.hasRevisions) this.truncateHistory(set, current, update);
    if (this.nextAvailable !== undefined) this.queue.requeueAfter(key, Math.max(0, this.nextAvailable - this.now().getTime()) + 10);
  }

  /** ControllerRefManager: adopt matching orphans named like our members, release owned pods that stop matching. */
  private claimPods(set: StatefulSet): Pod[] {
    const store = this.ctx.store;
    const out: Pod[] = [];
    for (const p of store.list(PODS, set.metadata.namespace).items as Pod[]) {
      const ref = controllerRefOf(p);
      const matches = selectorMatches(set.spec.selector, p.metadata.labels) && parentAndOrdinal(p.metadata.name!).parent === set.metadata.name;
      if (ref) {
        if (ref.uid !== set.metadata.uid) continue;
        if (matches) out.push(p);
        else {
          store.mutate(PODS, p.metadata.namespace, p.metadata.name!, (o) => {
            o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== set.metadata.uid);
            if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
          });
        }
        continue;
      }
      if (!matches || isTerminating(p)) continue;
      const adopted = store.mutate(PODS, p.metadata.namespace, p.metadata.name!, (o) => {
        if (controllerRefOf(o)) return false;
        o.metadata.ownerReferences = [...(o.metadata.ownerReferences ?? []), this.setRef(set)];
      }) as Pod | undefined;
      if (adopted && controllerRefOf(adopted)?.uid === set.metadata.uid) out.push(adopted);
    }
    return out;
  }

  private listRevisions(set: StatefulSet): Revision[] {
    const store = this.ctx.store;
    const out: Revision[] = [];
    for (const r of store.list(REVISIONS, set.metadata.namespace).items as Revision[]) {
      const ref = controllerRefOf(r);
      if (ref?.uid === set.metadata.uid) out.push(r);
      else if (!ref && selectorMatches(set.spec.selector, r.metadata.labels)) {
        const adopted = store.mutate(REVISIONS, r.metadata.namespace, r.metadata.name!, (o) => {
          if (controllerRefOf(o)) return false;
          o.metadata.ownerReferences = [...(o.metadata.ownerReferences ?? []), this.setRef(set)];
        }) as Revision | undefined;
        if (adopted && controllerRefOf(adopted)?.uid === set.metadata.uid) out.push(adopted);
      }
    }
    return out.sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || a.metadata.name!.localeCompare(b.metadata.name!));
  }

  /** getStatefulSetRevisions: find or create the update revision, bump a reused old one, resolve current. */
  private revisions(set: StatefulSet): { current: Revision; update: Revision; collisionCount: number } {
    const store = this.ctx.store;
    const ns = set.metadata.namespace!;
    const revs = this.listRevisions(set);
    const data = revisionData(set);
    const next = (revs.length ? (revs[revs.length - 1]!.revision ?? 0) : 0) + 1;
    let collisionCount = set.status?.collisionCount ?? 0;
    const equal = revs.filter((r) => isDeepStrictEqual(r.data, data));
    let update: Revision;
    if (equal.length && equal[equal.length - 1] === revs[revs.length - 1]) update = equal[equal.length - 1]!;
    else if (equal.length) {
      // Rolling back to an old template reuses its revision with a new number.
      const e = equal[equal.length - 1]!;
      update = store.mutate(REVISIONS, ns, e.metadata.name!, (o) => {
        (o as Revision).revision = next;
      }) as Revision;
    } else {
      for (;;) {
        const hash = revisionHash(data, collisionCount);
        const name = `${set.metadata.name}-${hash}`;
        try {
          update = store.create(REVISIONS, {
            apiVersion: 'apps/v1',
            kind: 'ControllerRevision',
            metadata: {
              name,
              namespace: ns,
              labels: { ...(set.spec.template.metadata?.labels ?? {}), [HASH_LABEL]: hash },
              // newRevision copies the set's annotations.
              ...(set.metadata.annotations ? { annotations: { ...set.metadata.annotations } } : {}),
              ownerReferences: [this.setRef(set)],
            },
            data,
            revision: next,
          }).object as Revision;
          break;
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
          const existing = store.get(REVISIONS, ns, name) as Revision | undefined;
          if (existing && isDeepStrictEqual(existing.data, data) && controllerRefOf(existing)?.uid === set.metadata.uid) {
            update = existing;
            break;
          }
          collisionCount++;
        }
      }
    }
    const current = revs.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current: current.metadata.name === update.metadata.name ? update : current, update, collisionCount };
  }

  private truncateHistory(set: StatefulSet, current: Revision | undefined, update: Revision | undefined): void {
    const store = this.ctx.store;
    const live = new Set<string>([current?.metadata.name ?? '', update?.metadata.name ?? '']);
    for (const p of store.list(PODS, set.metadata.namespace).items) {
      const h = p.metadata.labels?.[REVISION_LABEL];
      if (h && controllerRefOf(p)?.uid === set.metadata.uid) live.add(h);
    }
    const history = this.listRevisions(set).filter((r) => !live.has(r.metadata.name!));
    const limit = set.spec.revisionHistoryLimit ?? 10;
    for (const r of history.slice(0, Math.max(0, history.length - limit))) {
      try {
        store.delete(REVISIONS, r.metadata.namespace, r.metadata.name!);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
  }

  private startOrdinal(set: StatefulSet): number {
    return this.ctx.profile.ordinals ? (set.spec.ordinals?.start ?? 0) : 0;
  }

  private claimName(tpl: ClaimTemplate, set: StatefulSet, ordinal: number): string {
    return `${tpl.metadata?.name ?? ''}-${set.metadata.name}-${ordinal}`;
  }

  /** isRunningAndAvailable: Ready for minReadySeconds (honoured from 1.23, StatefulSetMinReadySeconds beta). */
  private available(set: StatefulSet, p: Pod): boolean {
    if (!isRunningAndReady(p)) return false;
    const minReady = this.ctx.profile.minor >= 23 ? (set.spec.minReadySeconds ?? 0) : 0;
    if (minReady <= 0) return true;
    const since = Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
    if (Number.isNaN(since)) return false;
    const due = since + minReady * 1000;
    if (due <= this.now().getTime()) return true;
    this.nextAvailable = Math.min(this.nextAvailable ?? Infinity, due);
    return false;
  }

  /** isUnavailable: not created yet, terminating, or not running and available. */
  private unavailable(set: StatefulSet, p: Pod | undefined): boolean {
    return !p || isTerminating(p) || !this.available(set, p);
  }

  private newPod(set: StatefulSet, ordinal: number, template: PodTemplate, revision: Revision | undefined): Pod {
    const name = `${set.metadata.name}-${ordinal}`;
    const t = structuredClone(template);
    const labels: Record<string, string> = { ...(t.metadata?.labels ?? {}) };
    if (revision) labels[REVISION_LABEL] = revision.metadata.name!;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: set.metadata.namespace, labels, ownerReferences: [this.setRef(set)] },
      spec: { ...(t.spec ?? {}) },
    };
    if (t.metadata?.annotations) pod.metadata.annotations = { ...t.metadata.annotations };
    this.updateIdentity(set, pod);
    if (this.ctx.profile.minor >= 7) {
      // initIdentity: hostname and subdomain are immutable, set once at creation.
      pod.spec!.hostname = name;
      if (set.spec.serviceName) pod.spec!.subdomain = set.spec.serviceName;
    }
    this.setStorage(set, pod);
    return pod;
  }

  /** updateIdentity: 1.6 keeps the identity in the beta hostname/subdomain annotations; 1.9+ adds the pod-name label. */
  private updateIdentity(set: StatefulSet, pod: Pod): void {
    const p = this.ctx.profile;
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    if (p.minor < 7) {
      pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), 'pod.beta.kubernetes.io/hostname': pod.metadata.name!, 'pod.beta.kubernetes.io/subdomain': set.spec.serviceName ?? '' };
      return;
    }
    pod.metadata.labels ??= {};
    if (p.podNameLabel) pod.metadata.labels[POD_NAME_LABEL] = pod.metadata.name!;
    if (p.podIndexLabel) pod.metadata.labels[POD_INDEX_LABEL] = String(ordinal);
  }

  /** identityMatches: what the emulated release checks (the pod-index label is written but never checked). */
  private identityMatches(set: StatefulSet, pod: Pod): boolean {
    const p = this.ctx.profile;
    if (p.minor < 7) {
      const a = pod.metadata.annotations ?? {};
      return a['pod.beta.kubernetes.io/hostname'] === pod.metadata.name && a['pod.beta.kubernetes.io/subdomain'] === (set.spec.serviceName ?? '');
    }
    return !p.podNameLabel || pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name;
  }

  /** updateStorage: one persistentVolumeClaim volume per template, replacing a template volume of the same name. */
  private setStorage(set: StatefulSet, pod: Pod): void {
    const tpls = set.spec.volumeClaimTemplates ?? [];
    if (!tpls.length) return;
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    const names = new Set(tpls.map((t) => t.metadata?.name ?? ''));
    const vols: Volume[] = tpls.map((t) => ({ name: t.metadata?.name ?? '', persistentVolumeClaim: { claimName: this.claimName(t, set, ordinal) } }));
    for (const v of pod.spec?.volumes ?? []) if (!names.has(v.name)) vols.push(v);
    pod.spec = { ...(pod.spec ?? {}), volumes: vols };
  }

  private storageMatches(set: StatefulSet, pod: Pod): boolean {
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    return (set.spec.volumeClaimTemplates ?? []).every((t) => pod.spec?.volumes?.some((v) => v.name === t.metadata?.name && v.persistentVolumeClaim?.claimName === this.claimName(t, set, ordinal)));
  }

  /**
   * getPersistentVolumeClaims: the template with the pod's claim name. Labels are the selector's matchLabels; from
   * 1.15 (PR #74941) the template's own labels are kept and the selector labels added over them.
   */
  private claimsFor(set: StatefulSet, ordinal: number): KObject[] {
    const selectorLabels = set.spec.selector?.matchLabels ?? {};
    return (set.spec.volumeClaimTemplates ?? []).map((t) => {
      const c = structuredClone(t) as KObject & ClaimTemplate;
      c.apiVersion = 'v1';
      c.kind = 'PersistentVolumeClaim';
      const labels = this.ctx.profile.minor >= 15 ? { ...(t.metadata?.labels ?? {}), ...selectorLabels } : { ...selectorLabels };
      c.metadata = { ...(c.metadata ?? {}), name: this.claimName(t, set, ordinal), namespace: set.metadata.namespace, labels };
      delete (c as { status?: unknown }).status;
      return c;
    });
  }

  /** createPersistentVolumeClaims: missing claims are created (with an event), existing ones reused. */
  private createClaims(set: StatefulSet, pod: Pod): string[] {
    const store = this.ctx.store;
    const errs: string[] = [];
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    for (const claim of this.claimsFor(set, ordinal)) {
      const existing = store.get(PVCS, claim.metadata.namespace, claim.metadata.name!);
      if (existing) {
        if (existing.metadata.deletionTimestamp) errs.push(`pvc ${claim.metadata.name} is being deleted`);
        continue;
      }
      try {
        store.create(PVCS, claim);
        this.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        errs.push(`failed to create PVC ${claim.metadata.name}: ${msg}`);
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists'))
          this.event(set, 'Warning', 'FailedCreate', `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg}`);
      }
    }
    return errs;
  }

  /**
   * PodClaimIsStale: with whenScaled Delete, a claim still owned by an earlier incarnation of the pod is about to be
   * collected; the pod waits rather than mount it.
   */
  private claimIsStale(set: StatefulSet, podName: string): boolean {
    if (this.policy(set).whenScaled === 'Retain') return false;
    const { ordinal } = parentAndOrdinal(podName);
    return this.claimsFor(set, ordinal).some((c) => {
      const cur = this.ctx.store.get(PVCS, c.metadata.namespace, c.metadata.name!);
      return !!cur?.metadata.ownerReferences?.some((r) => r.kind === 'Pod' && r.name === podName);
    });
  }

  /** CreateStatefulPod: claims first, then the pod. False when anything failed (the pass stops, as on an error). */
  private createPod(set: StatefulSet, pod: Pod): boolean {
    const errs = this.createClaims(set, pod);
    if (errs.length) {
      this.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${aggregate(errs)}`);
      return false;
    }
    let created: Pod;
    try {
      created = this.ctx.store.create(PODS, pod).object as Pod;
    } catch (err) {
      // An AlreadyExists is sunk without an event (the old pod is still terminating).
      if (err instanceof ApiError && err.reason === 'AlreadyExists') return false;
      const msg = err instanceof Error ? err.message : String(err);
      this.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg}`);
      return false;
    }
    if (this.retentionEnabled) this.updateClaimOwners(set, created);
    this.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    return true;
  }

  private deletePod(set: StatefulSet, pod: Pod): void {
    try {
      this.ctx.store.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      this.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return;
      const msg = err instanceof Error ? err.message : String(err);
      this.event(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${msg}`);
    }
  }

  /**
   * UpdateStatefulPod: fix identity, create missing claims and fix claim owners; an update event when anything was
   * inconsistent. Volumes of an existing pod are immutable, so only the identity is written back.
   */
  private updatePod(set: StatefulSet, pod: Pod): boolean {
    let consistent = true;
    if (!this.storageMatches(set, pod)) {
      consistent = false;
      const errs = this.createClaims(set, pod);
      if (errs.length) {
        this.event(set, 'Warning', 'FailedUpdate', `update Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${aggregate(errs)}`);
        return false;
      }
    }
    if (this.retentionEnabled && !this.claimsMatchPolicy(set, pod)) {
      consistent = false;
      this.updateClaimOwners(set, pod);
    }
    if (!this.identityMatches(set, pod)) {
      consistent = false;
      this.ctx.store.mutate(PODS, pod.metadata.namespace, pod.metadata.name!, (o) => {
        if (o.metadata.uid !== pod.metadata.uid) return false;
        this.updateIdentity(set, o as Pod);
      });
    }
    if (!consistent) this.event(set, 'Normal', 'SuccessfulUpdate', `update Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    return true;
  }

  // ----- PVC retention policy (stateful_set_utils.go) -----

  private policy(set: StatefulSet): { whenDeleted: Policy; whenScaled: Policy } {
    const p = set.spec.persistentVolumeClaimRetentionPolicy;
    return { whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain' };
  }

  private inRange(set: StatefulSet, pod: Pod): boolean {
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    const start = this.startOrdinal(set);
    return ordinal >= start && ordinal < start + (set.spec.replicas ?? 1);
  }

  /**
   * The owners a claim should have. From 1.31 (controller references): a reference to an earlier set or pod of the
   * same name leaves the claim alone, and another controller makes the set's and pod's references go ('scrub').
   */
  private desiredClaimRefs(claim: KObject, set: StatefulSet, pod: Pod): { set: boolean; pod: boolean } | 'leave' | 'scrub' {
    const pol = this.policy(set);
    const scaledDown = !this.inRange(set, pod);
    const want = pol.whenScaled === 'Delete' ? { pod: scaledDown, set: pol.whenDeleted === 'Delete' && !scaledDown } : { pod: false, set: pol.whenDeleted === 'Delete' };
    if (this.ctx.profile.minor < 31) return want;
    const refs = claim.metadata.ownerReferences ?? [];
    const setV = this.setApiVersion();
    const matchesSet = (r: OwnerReference) => r.kind === 'StatefulSet' && r.name === set.metadata.name && r.apiVersion === setV;
    const matchesPod = (r: OwnerReference) => r.kind === 'Pod' && r.name === pod.metadata.name && r.apiVersion === 'v1';
    if (refs.some((r) => (matchesSet(r) && r.uid !== set.metadata.uid) || (matchesPod(r) && r.uid !== pod.metadata.uid))) return 'leave';
    const retainAll = pol.whenDeleted === 'Retain' && pol.whenScaled === 'Retain';
    if (!retainAll && refs.some((r) => !matchesSet(r) && !matchesPod(r) && r.controller === true)) return 'scrub';
    return want;
  }

  private claimOwnersUpToDate(claim: KObject, set: StatefulSet, pod: Pod): boolean {
    const want = this.desiredClaimRefs(claim, set, pod);
    const refs = claim.metadata.ownerReferences ?? [];
    const hasSet = refs.some((r) => r.uid === set.metadata.uid);
    const hasPod = refs.some((r) => r.uid === pod.metadata.uid);
    if (want === 'leave') return true;
    if (want === 'scrub') return !hasSet && !hasPod;
    // hasNonControllerOwner (1.31+): a plain reference from before the switch to controller references is redone.
    if (this.ctx.profile.minor >= 31 && refs.some((r) => (r.uid === set.metadata.uid || r.uid === pod.metadata.uid) && r.controller !== true)) return false;
    return want.set === hasSet && want.pod === hasPod;
  }

  private updateClaimOwners(set: StatefulSet, pod: Pod): void {
    const store = this.ctx.store;
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    const controllerRefs = this.ctx.profile.minor >= 31;
    for (const c of this.claimsFor(set, ordinal)) {
      const claim = store.get(PVCS, c.metadata.namespace, c.metadata.name!);
      if (!claim || this.claimOwnersUpToDate(claim, set, pod)) continue;
      store.mutate(PVCS, c.metadata.namespace, c.metadata.name!, (o) => {
        const want = this.desiredClaimRefs(o, set, pod);
        if (want === 'leave') return false;
        let refs = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== set.metadata.uid && r.uid !== pod.metadata.uid);
        if (want !== 'scrub') {
          // Before 1.31 setOwnerRef wrote plain references with the apps/v1 or v1 group version.
          const ref = (apiVersion: string, kind: string, obj: KObject): OwnerReference =>
            controllerRefs ? { apiVersion, kind, name: obj.metadata.name!, uid: obj.metadata.uid!, controller: true, blockOwnerDeletion: true } : { apiVersion, kind, name: obj.metadata.name!, uid: obj.metadata.uid! };
          if (want.set) refs = [...refs, ref(this.setApiVersion(), 'StatefulSet', set)];
          if (want.pod) refs = [...refs, ref('v1', 'Pod', pod)];
        }
        if (refs.length) o.metadata.ownerReferences = refs;
        else delete o.metadata.ownerReferences;
      });
    }
  }

  private claimsMatchPolicy(set: StatefulSet, pod: Pod): boolean {
    const { ordinal } = parentAndOrdinal(pod.metadata.name!);
    return this.claimsFor(set, ordinal).every((c) => {
      const claim = this.ctx.store.get(PVCS, c.metadata.namespace, c.metadata.name!);
      return !claim || this.claimOwnersUpToDate(claim, set, pod);
    });
  }

  // ----- the pass -----

  /** updateStatefulSet: replicas in ordinal order, then claim owners and deletions of condemned pods, then the update. */
  private reconcile(set: StatefulSet, pods: Pod[], current: Revision | undefined, update: Revision | undefined): void {
    const p = this.ctx.profile;
    const replicaCount = set.spec.replicas ?? 1;
    const start = this.startOrdinal(set);
    // podManagementPolicy arrived in 1.7; 1.6 is always ordered.
    const monotonic = p.minor < 7 || set.spec.podManagementPolicy !== 'Parallel';
    const replicas: (Pod | undefined)[] = new Array<Pod | undefined>(replicaCount).fill(undefined);
    const condemned: Pod[] = [];
    for (const pod of pods) {
      const { ordinal } = parentAndOrdinal(pod.metadata.name!);
      if (ordinal >= start && ordinal < start + replicaCount) replicas[ordinal - start] = pod;
      else if (ordinal >= 0) condemned.push(pod);
    }
    condemned.sort((a, b) => parentAndOrdinal(b.metadata.name!).ordinal - parentAndOrdinal(a.metadata.name!).ordinal);
    const onDelete = set.spec.updateStrategy?.type === 'OnDelete';
    const partition = onDelete ? 0 : (set.spec.updateStrategy?.rollingUpdate?.partition ?? 0);
    const versioned = (i: number): Pod => {
      // newVersionedStatefulSetPod: below the partition a recreated pod keeps the current revision.
      const useCurrent = current && update && current !== update && !onDelete && i < partition;
      const rev = useCurrent ? current : update;
      return this.newPod(set, i + start, templateOf(rev, set), rev);
    };
    const firstUnhealthy = [...replicas, ...[...condemned].reverse()].find((pod) => this.unavailable(set, pod));
    // An error ends the pass in either mode (the real controller returns it and requeues).
    let aborted = false;

    /** processReplica: true when nothing more may happen for this replica (and, if monotonic, the pass). */
    const processReplica = (i: number): boolean => {
      let pod = replicas[i];
      const terminal = pod?.status?.phase === 'Failed' || (p.minor >= 27 && pod?.status?.phase === 'Succeeded');
      if (pod && terminal) {
        if (p.minor >= 30) {
          // PR #123809: delete, and let the next sync (after the pod is gone) create the replacement.
          if (!isTerminating(pod)) this.deletePod(set, pod);
          return true;
        }
        if (p.minor >= 10) {
          const failed = pod.status?.phase === 'Failed';
          const ns = `${set.metadata.namespace}/${set.metadata.name}`;
          if (failed) this.event(set, 'Warning', 'RecreatingFailedPod', `StatefulSet ${ns} is recreating failed Pod ${pod.metadata.name}`);
          else this.event(set, 'Normal', 'RecreatingTerminatedPod', `StatefulSet ${ns} is recreating terminated Pod ${pod.metadata.name}`);
        }
        this.deletePod(set, pod);
        pod = undefined;
      }
      if (!pod) {
        const name = `${set.metadata.name}-${i + start}`;
        if (this.retentionEnabled && this.claimIsStale(set, name)) return true;
        if (!this.createPod(set, versioned(i))) {
          aborted = true;
          return true;
        }
        return monotonic;
      }
      if (pod.status?.phase === 'Pending') {
        const errs = this.createClaims(set, pod);
        if (errs.length) {
          aborted = true;
          return true;
        }
      }
      if (isTerminating(pod) && monotonic) return true;
      if (!isRunningAndReady(pod) && monotonic) return true;
      if (!this.available(set, pod) && monotonic) return true;
      const retentionOk = !this.retentionEnabled || this.claimsMatchPolicy(set, pod);
      if (this.identityMatches(set, pod) && this.storageMatches(set, pod) && retentionOk) return false;
      if (!this.updatePod(set, pod)) {
        aborted = true;
        return true;
      }
      return false;
    };
    for (let i = 0; i < replicas.length; i++) if ((processReplica(i) && monotonic) || aborted) return;
    if (this.retentionEnabled) for (const pod of condemned) if (!this.claimsMatchPolicy(set, pod)) this.updateClaimOwners(set, pod);
    // processCondemned: highest ordinal first; in order mode one at a time, and only when every predecessor is healthy.
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && pod !== firstUnhealthy && this.unavailable(set, pod)) return;
      this.deletePod(set, pod);
      if (monotonic) return;
    }
    // Rolling update: highest ordinal first, one at a time, down to the partition; waits for availability.
    if (!update || onDelete || p.minor < 7) return;
    for (let target = replicas.length - 1; target >= partition; target--) {
      const pod = replicas[target];
      if (pod && pod.metadata.labels?.[REVISION_LABEL] !== update.metadata.name && !isTerminating(pod)) {
        this.deletePod(set, pod);
        return;
      }
      if (this.unavailable(set, pod)) return;
    }
  }

  private countStatus(set: StatefulSet, current: Revision | undefined, update: Revision | undefined): Record<string, number> {
    const counts = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
    for (const p of this.ctx.store.list(PODS, set.metadata.namespace).items as Pod[]) {
      if (controllerRefOf(p)?.uid !== set.metadata.uid) continue;
      counts.replicas++;
      if (isRunningAndReady(p)) {
        counts.readyReplicas++;
        if (this.available(set, p)) counts.availableReplicas++;
      }
      if (!isTerminating(p)) {
        const rev = p.metadata.labels?.[REVISION_LABEL];
        if (current && rev === current.metadata.name) counts.currentReplicas++;
        if (update && rev === update.metadata.name) counts.updatedReplicas++;
      }
    }
    return counts;
  }

  private writeStatus(set: StatefulSet, c: Record<string, number>, current: Revision | undefined, update: Revision | undefined, collisionCount: number): void {
    const p = this.ctx.profile;
    let status: Record<string, unknown>;
    if (p.minor < 7) {
      // 1.6 reported only status.replicas, and it counted running and ready pods (kubernetes #42410, fixed in 1.7).
      status = { replicas: c.readyReplicas };
    } else {
      status = { observedGeneration: set.metadata.generation, replicas: c.replicas };
      let currentRevision = current?.metadata.name;
      let currentReplicas = c.currentReplicas!;
      // completeRollingUpdate: once every wanted pod runs the update revision and is ready it becomes the current one.
      const want = set.spec.replicas ?? 1;
      if (set.spec.updateStrategy?.type !== 'OnDelete' && c.updatedReplicas === want && c.readyReplicas === want && c.replicas === want) {
        currentRevision = update?.metadata.name;
        currentReplicas = c.updatedReplicas;
      }
      if (c.readyReplicas) status.readyReplicas = c.readyReplicas;
      if (currentReplicas) status.currentReplicas = currentReplicas;
      if (c.updatedReplicas) status.updatedReplicas = c.updatedReplicas;
      if (currentRevision) status.currentRevision = currentRevision;
      if (update) status.updateRevision = update.metadata.name;
      status.collisionCount = collisionCount;
      // availableReplicas: StatefulSetMinReadySeconds beta (on) from 1.23; the field has no omitempty.
      if (p.minor >= 23) status.availableReplicas = c.availableReplicas;
    }
    this.ctx.store.mutate(
      SETS,
      set.metadata.namespace,
      set.metadata.name!,
      (o) => {
        if (o.metadata.uid !== set.metadata.uid) return false;
        if (isDeepStrictEqual(o.status, status)) return false;
        o.status = status;
      },
      'status',
    );
  }
}

/** utilerrors.NewAggregate's text: one error as itself, several in brackets. */
const aggregate = (errs: string[]) => (errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`);

/** Exposed for tests and other controllers: the name a claim template gets for one pod. */
export const statefulClaimName = (template: string, set: string, ordinal: number) => `${template}-${set}-${ordinal}`;

/** Exposed for tests: the revision hash function (FNV-1 + SafeEncodeString). */
export const _revisionHash = (data: unknown, collisionCount = 0) => revisionHash(data, collisionCount);
