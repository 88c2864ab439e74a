/**
 * StorageObjectInUseProtection controllers (pkg/controller/volume/pvcprotection, pvprotection). The admission plugin
 * adds the finalizers; these remove them from objects being deleted once nothing uses them:
 * - pvc-protection: a claim is in use while a scheduled pod (spec.nodeName set) names it in a volume. From 1.12
 *   (kubernetes PR #67954, "wait for Pod delete") that holds whatever the pod's phase and while it is being deleted,
 *   until the pod object is gone (upstream podUsesPVC); a generic ephemeral claim is released once its pod is shut
 *   down (deletionTimestamp with grace 0). Before 1.12, a terminated pod (volumeutil.IsPodTerminated: Succeeded,
 *   Failed, or being deleted with no container running) no longer counted;
 * - pv-protection: a volume is in use while its status.phase is Bound.
 * Both run whenever the profile has the finalizers (1.10+), and also strip them after a downgrade.
 */
import type { KObject } from '../apiserver/store.js';
import { PV_PROTECTION, PVC_PROTECTION } from '../apiserver/admission.js';
import { objectKey, splitKey, WorkQueue, informer, type Controller, type ControllerContext } from './framework.js';

type Obj = Record<string, unknown>;
const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {});
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

/**
 * Whether the pod is terminated for the pre-1.12 controller (volumeutil.IsPodTerminated): Succeeded or Failed, or
 * being deleted with no container running (a missing status counts as not running).
 */
export function podIsTerminated(pod: KObject): boolean {
  const status = obj(pod.status);
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return true;
  return !!pod.metadata.deletionTimestamp && arr(status.containerStatuses).every((c) => !!obj(c.state).terminated || !!obj(c.state).waiting);
}

/** Kubelet is done with the pod, or it was force-deleted (upstream podIsShutDown). */
const podIsShutDown = (pod: KObject) => !!pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;

/**
 * Whether `pod` keeps claim `claim` (same namespace) in use. `waitForDeletion` is the 1.12+ rule (a pod counts
 * until its object is gone); without it a terminated pod releases its claims.
 */
export function podUsesClaim(pod: KObject, claim: KObject, waitForDeletion = true): boolean {
  const spec = obj(pod.spec);
  if (!spec.nodeName) return false;
  if (!waitForDeletion && podIsTerminated(pod)) return false;
  const name = claim.metadata.name;
  // An ephemeral claim is the pod's only when the pod controls it (ephemeral.VolumeIsForPod).
  const ownedByPod = () => !!claim.metadata.ownerReferences?.some((r) => r.controller && r.uid === pod.metadata.uid);
  return arr(spec.volumes).some(
    (v) => obj(v.persistentVolumeClaim).claimName === name || (!!v.ephemeral && !podIsShutDown(pod) && `${pod.metadata.name}-${v.name as string}` === name && ownedByPod()),
  );
}

function removeFinalizer(o: KObject, f: string): boolean {
  if (!o.metadata.finalizers?.includes(f)) return false;
  o.metadata.finalizers = o.metadata.finalizers.filter((x) => x !== f);
  return true;
}

export class PVCProtectionController implements Controller {
  readonly name = 'pvc-protection';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('pvc-protection sync failed', { key: k, err: String(err) }));
    this.stops.push(
      informer(ctx.store, 'core/persistentvolumeclaims', (ev) => {
        if (ev.type !== 'DELETED' && ev.object.metadata.deletionTimestamp) this.queue!.add(objectKey(ev.object));
      }),
      informer(ctx.store, 'core/pods', (ev) => {
        // A pod going away (or finishing) may release its claims.
        for (const v of arr(obj(ev.object.spec).volumes)) {
          const c = obj(v.persistentVolumeClaim).claimName as string | undefined;
          if (c) this.queue!.add(`${ev.object.metadata.namespace}/${c}`);
          if (v.ephemeral) this.queue!.add(`${ev.object.metadata.namespace}/${ev.object.metadata.name}-${v.name as string}`);
        }
      }),
    );
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(key: string): void {
    const { store } = this.ctx;
    const { namespace, name } = splitKey(key);
    const pvc = store.get('core/persistentvolumeclaims', namespace, name);
    if (!pvc?.metadata.deletionTimestamp || !pvc.metadata.finalizers?.includes(PVC_PROTECTION)) return;
    const waitForDeletion = this.ctx.profile.pvcProtectionWaitsForPodDeletion;
    if (store.list('core/pods', namespace).items.some((p) => podUsesClaim(p, pvc, waitForDeletion))) return;
    store.mutate('core/persistentvolumeclaims', namespace, name, (o) => o.metadata.uid === pvc.metadata.uid && removeFinalizer(o, PVC_PROTECTION));
  }
}

export class PVProtectionController implements Controller {
  readonly name = 'pv-protection';
  private queue: WorkQueue | undefined;
  private stops: (() => void)[] = [];
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue((k) => this.sync(k), (k, err) => ctx.log('pv-protection sync failed', { key: k, err: String(err) }));
    this.stops.push(
      informer(ctx.store, 'core/persistentvolumes', (ev) => {
        if (ev.type !== 'DELETED' && ev.object.metadata.deletionTimestamp) this.queue!.add(ev.object.metadata.name!);
      }),
    );
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue?.stop();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  private sync(name: string): void {
    const { store } = this.ctx;
    const pv = store.get('core/persistentvolumes', undefined, name);
    if (!pv?.metadata.deletionTimestamp || !pv.metadata.finalizers?.includes(PV_PROTECTION)) return;
    if (obj(pv.status).phase === 'Bound') return;
    store.mutate('core/persistentvolumes', undefined, name, (o) => o.metadata.uid === pv.metadata.uid && obj(o.status).phase !== 'Bound' && removeFinalizer(o, PV_PROTECTION));
  }
}
