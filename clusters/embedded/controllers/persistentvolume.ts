/**
 * PersistentVolume controller (kubernetes pkg/controller/volume/persistentvolume, the binder half): static binding of
 * claims to the smallest matching volume, pre-binding from either side, external provisioning hand-off (annotations
 * and events), phases of both objects, and reclaim of released volumes. The volume plugins the controller side
 * has here are those of the embedded cluster: flexVolume (no deleter, no recycler) and the in-tree hostPath and NFS
 * recyclers, which scrub a released volume with a `recycler-for-<pv>` pod in `default` (pkg/volume/util/recyclerclient)
 * and make it Available again. One work queue for volumes and claims so no two syncs race (the real
 * controller runs one worker per queue for the same reason), driven by watch events plus a periodic resync.
 *
 * WaitForFirstConsumer: a claim whose class has volumeBindingMode WaitForFirstConsumer is left alone (event
 * WaitForFirstConsumer) until it carries the `volume.kubernetes.io/selected-node` annotation, which the scheduler
 * writes; after that it is matched or handed to its provisioner like an Immediate claim (node affinity is ignored).
 */
import type { KObject, Store } from '../apiserver/store.js';
import { ApiError } from '../apiserver/status.js';
import { selectorMatches, type LabelSelectorObject } from '../apiserver/selectors.js';
import { informer, splitKey, WorkQueue, type Controller, type ControllerContext } from './framework.js';

const PVS = 'core/persistentvolumes';
const PVCS = 'core/persistentvolumeclaims';
const CLASSES = 'storage.k8s.io/storageclasses';
const PODS = 'core/pods';
const EVENTS = 'core/events';
/** Namespace of the recycler pod template (NewPersistentVolumeRecyclerPodTemplate). */
const RECYCLER_NS = 'default';
const RECYCLER_PREFIX = 'recycler-for-';
const COMPONENT = { component: 'persistentvolume-controller' };

export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_BETA_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

export interface ClaimRef {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}

export interface PersistentVolume extends KObject {
  spec: {
    capacity?: { storage?: string };
    hostPath?: { path: string; type?: string };
    nfs?: { server: string; path: string; readOnly?: boolean };
    accessModes?: string[];
    volumeMode?: string;
    storageClassName?: string;
    claimRef?: ClaimRef;
    persistentVolumeReclaimPolicy?: string;
    [k: string]: unknown;
  };
  status?: { phase?: string; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}

export interface PersistentVolumeClaim extends KObject {
  spec: {
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
    volumeMode?: string;
    storageClassName?: string | null;
    selector?: LabelSelectorObject;
    volumeName?: string;
    [k: string]: unknown;
  };
  status?: { phase?: string; accessModes?: string[]; capacity?: Record<string, string>; [k: string]: unknown };
}

interface StorageClass extends KObject {
  provisioner?: string;
  volumeBindingMode?: string;
}

const SUFFIX: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

/**
 * A resource.Quantity in milli-units (so `500m`, `1.5Gi` and `1e3` compare exactly). Throws on malformed input.
 */
export function quantityMillis(s: string): bigint {
  const m = /^([+-]?)(\d+)?(?:\.(\d+))?(?:(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m || (m[2] === undefined && m[3] === undefined)) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${JSON.stringify(s)}`);
  const frac = m[3] ?? '';
  let num = BigInt((m[2] ?? '0') + frac) * 1000n;
  let den = 10n ** BigInt(frac.length);
  if (m[4] === 'm') den *= 1000n;
  else if (m[4]) num *= SUFFIX[m[4]]!;
  else if (m[5]) {
    const e = BigInt(m[5]);
    if (e >= 0n) num *= 10n ** e;
    else den *= 10n ** -e;
  }
  const v = (num + den - 1n) / den; // rounds up, as Quantity does for sub-milli precision
  return m[1] === '-' ? -v : v;
}

const storageOf = (s: string | undefined): bigint | undefined => {
  if (s === undefined) return undefined;
  try {
    return quantityMillis(s);
  } catch {
    return undefined;
  }
};

/** The class a claim asks for: the beta annotation wins over the field; unset is "". */
export const claimClass = (c: PersistentVolumeClaim) => c.metadata.annotations?.[ANN_BETA_CLASS] ?? c.spec.storageClassName ?? '';
export const volumeClass = (v: PersistentVolume) => v.metadata.annotations?.[ANN_BETA_CLASS] ?? v.spec.storageClassName ?? '';

const volumeModeOf = (m: string | undefined) => m ?? 'Filesystem';

/** IsVolumeBoundToClaim: claimRef names this claim, with its uid or no uid yet. */
export function isVolumeBoundToClaim(v: PersistentVolume, c: PersistentVolumeClaim): boolean {
  const r = v.spec.claimRef;
  if (!r || r.name !== c.metadata.name || r.namespace !== c.metadata.namespace) return false;
  return !r.uid || r.uid === c.metadata.uid;
}

/** checkVolumeSatisfyClaim: why a requested volume cannot serve the claim, or undefined. */
export function volumeMismatch(v: PersistentVolume, c: PersistentVolumeClaim): string | undefined {
  // StorageObjectInUseProtection (on from 1.10, when the check exists at all) refuses a volume being deleted.
  if (v.metadata.deletionTimestamp) return `the volume is marked for deletion "${v.metadata.name}"`;
  const have = storageOf(v.spec.capacity?.storage);
  const want = storageOf(c.spec.resources?.requests?.storage) ?? 0n;
  if (have === undefined || have < want) return 'requested PV is too small';
  if (volumeClass(v) !== claimClass(c)) return 'storageClassName does not match';
  if (volumeModeOf(v.spec.volumeMode) !== volumeModeOf(c.spec.volumeMode)) return 'incompatible volumeMode';
  const modes = v.spec.accessModes ?? [];
  if (!(c.spec.accessModes ?? []).every((m) => modes.includes(m))) return 'incompatible accessMode';
  return undefined;
}

/**
 * findBestMatchForClaim: volumes are grouped by their exact access-mode set; groups that cover the claim's modes are
 * tried smallest set first, and within a group the smallest volume that fits wins. A volume pre-bound to this claim
 * wins outright (size and volumeMode still have to fit). With `delayBinding` only pre-bound volumes are considered.
 */
export function findBestMatch(volumes: readonly PersistentVolume[], c: PersistentVolumeClaim, delayBinding = false): PersistentVolume | undefined {
  const want = storageOf(c.spec.resources?.requests?.storage) ?? 0n;
  const wantModes = c.spec.accessModes ?? [];
  const groups = new Map<string, PersistentVolume[]>();
  for (const v of volumes) {
    const key = [...new Set(v.spec.accessModes ?? [])].sort().join(',');
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  const keys = [...groups.keys()].filter((k) => wantModes.every((m) => k.split(',').includes(m))).sort((a, b) => a.split(',').length - b.split(',').length || a.localeCompare(b));
  for (const k of keys) {
    let best: PersistentVolume | undefined;
    let bestSize = 0n;
    for (const v of groups.get(k)!) {
      const size = storageOf(v.spec.capacity?.storage);
      if (size === undefined || size < want) continue;
      if (volumeModeOf(v.spec.volumeMode) !== volumeModeOf(c.spec.volumeMode)) continue;
      if (v.metadata.deletionTimestamp) continue;
      if (isVolumeBoundToClaim(v, c)) return v;
      if (delayBinding) continue;
      if (v.spec.claimRef) continue;
      if (c.spec.selector && !selectorMatches(c.spec.selector, v.metadata.labels)) continue;
      if (volumeClass(v) !== claimClass(c)) continue;
      if (!best || size < bestSize) {
        best = v;
        bestSize = size;
      }
    }
    if (best) return best;
  }
  return undefined;
}

export interface PersistentVolumeControllerOptions {
  /** Periodic resync of every volume and claim; default 15 s (the real controller's). */
  resyncMs?: number;
}

export class PersistentVolumeController implements Controller {
  readonly name = 'persistentvolume-binder';
  private ctx!: ControllerContext;
  private queue!: WorkQueue;
  private stops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Recycler pods this controller started: volume name -> the pod's and the volume's uid (the operation in flight). */
  private readonly recyclers = new Map<string, { pod: string; volume: string }>();

  constructor(private readonly opts: PersistentVolumeControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => ctx.log('persistentvolume sync failed', { key, error: String(err) }),
    );
    this.stops.push(
      informer(ctx.store, PVS, (ev) => {
        const v = ev.object as PersistentVolume;
        this.queue.add(`pv:${v.metadata.name}`);
        const r = v.spec.claimRef;
        if (r?.name && r.namespace) this.queue.add(`pvc:${r.namespace}/${r.name}`);
      }),
    );
    this.stops.push(
      informer(ctx.store, PVCS, (ev) => {
        const c = ev.object as PersistentVolumeClaim;
        this.queue.add(`pvc:${c.metadata.namespace}/${c.metadata.name}`);
        if (ev.type === 'DELETED') {
          // The volumes that pointed at it get released.
          if (c.spec.volumeName) this.queue.add(`pv:${c.spec.volumeName}`);
          for (const v of this.store.list(PVS).items as PersistentVolume[]) if (v.spec.claimRef?.uid && v.spec.claimRef.uid === c.metadata.uid) this.queue.add(`pv:${v.metadata.name}`);
        }
      }),
    );
    // The recycler watches its pod and forwards the pod's events to the volume.
    this.stops.push(
      informer(ctx.store, PODS, (ev) => {
        const n = ev.object.metadata.name!;
        if (ev.object.metadata.namespace === RECYCLER_NS && n.startsWith(RECYCLER_PREFIX)) this.queue.add(`pv:${n.slice(RECYCLER_PREFIX.length)}`);
      }),
    );
    this.stops.push(informer(ctx.store, EVENTS, (ev) => this.recyclerEvent(ev.type, ev.object)));
    if (ctx.store.keys().includes(CLASSES)) {
      // Not in the real controller (it waits for the resync); a new class unblocks pending claims sooner.
      this.stops.push(informer(ctx.store, CLASSES, () => this.enqueueAll()));
    }
    this.timer = setInterval(() => this.enqueueAll(), this.opts.resyncMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    if (this.timer) clearInterval(this.timer);
    this.queue?.stop();
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  enqueueAll(): void {
    for (const v of this.store.list(PVS).items) this.queue.add(`pv:${v.metadata.name}`);
    for (const c of this.store.list(PVCS).items) this.queue.add(`pvc:${c.metadata.namespace}/${c.metadata.name}`);
  }

  private get store(): Store {
    return this.ctx.store;
  }

  /** Queue keys are `pv:<name>` or `pvc:<ns>/<name>`. */
  sync(key: string): void {
    if (key.startsWith('pv:')) {
      const v = this.store.get(PVS, undefined, key.slice(3)) as PersistentVolume | undefined;
      if (v) this.syncVolume(v);
    } else if (key.startsWith('pvc:')) {
      const { namespace, name } = splitKey(key.slice(4));
      const c = this.store.get(PVCS, namespace, name) as PersistentVolumeClaim | undefined;
      if (c) this.syncClaim(c);
    }
  }

  private event(o: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.events.record(o, type, reason, message, COMPONENT);
  }

  private getClass(name: string): StorageClass | undefined {
    if (!name || !this.store.keys().includes(CLASSES)) return undefined;
    return this.store.get(CLASSES, undefined, name) as StorageClass | undefined;
  }

  // ----- claims -----

  private syncClaim(c: PersistentVolumeClaim): void {
    if (c.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined) this.syncUnboundClaim(c);
    else this.syncBoundClaim(c);
  }

  /** RetroactiveDefaultStorageClass: an unbound claim with no class at all gets the (newest) default class. */
  private retroactiveDefault(c: PersistentVolumeClaim): PersistentVolumeClaim {
    if (!this.ctx.profile.retroactiveDefaultClass || c.spec.storageClassName !== undefined || c.spec.volumeName || c.metadata.annotations?.[ANN_BETA_CLASS] !== undefined) return c;
    if (!this.store.keys().includes(CLASSES)) return c;
    const defaults = (this.store.list(CLASSES).items as StorageClass[])
      .filter((s) => s.metadata.annotations?.[ANN_DEFAULT_CLASS] === 'true' || s.metadata.annotations?.[ANN_BETA_DEFAULT_CLASS] === 'true')
      .sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)) || a.metadata.name!.localeCompare(b.metadata.name!));
    if (!defaults.length) return c;
    return (this.store.mutate(PVCS, c.metadata.namespace, c.metadata.name!, (o) => {
      const p = o as PersistentVolumeClaim;
      if (p.spec.storageClassName !== undefined) return false;
      p.spec.storageClassName = defaults[0]!.metadata.name;
    }) ?? c) as PersistentVolumeClaim;
  }

  private syncUnboundClaim(claim: PersistentVolumeClaim): void {
    const c = this.retroactiveDefault(claim);
    const cls = this.getClass(claimClass(c));
    const delayBinding = cls?.volumeBindingMode === 'WaitForFirstConsumer';
    const nodeSelected = c.metadata.annotations?.[ANN_SELECTED_NODE] !== undefined;
    if (!c.spec.volumeName) {
      const volume = findBestMatch(this.store.list(PVS).items as PersistentVolume[], c, delayBinding && !nodeSelected);
      if (volume) {
        this.bind(volume, c);
        return;
      }
      if (delayBinding && !nodeSelected) this.event(c, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      else if (claimClass(c) !== '') this.provisionClaim(c);
      else this.event(c, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      this.updateClaimStatus(c, 'Pending', undefined);
      return;
    }
    const volume = this.store.get(PVS, undefined, c.spec.volumeName) as PersistentVolume | undefined;
    if (!volume) {
      this.updateClaimStatus(c, 'Pending', undefined);
      return;
    }
    const p = this.ctx.profile;
    if (!volume.spec.claimRef) {
      // checkVolumeSatisfyClaim arrived in 1.7 (PR #42992); 1.6 binds whatever volume the claim names.
      const why = p.minor >= 7 ? volumeMismatch(volume, c) : undefined;
      if (why) {
        this.event(c, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volume.metadata.name}": ${why}`);
        this.updateClaimStatus(c, 'Pending', undefined);
      } else this.bind(volume, c);
      return;
    }
    if (isVolumeBoundToClaim(volume, c)) {
      this.bind(volume, c);
      return;
    }
    // Asked for a volume someone else holds: wait (the event came with PR #89845, 1.19; boundary unverified).
    if (p.minor >= 19) this.event(c, 'Warning', 'FailedBinding', `volume "${volume.metadata.name}" already bound to a different claim.`);
    this.updateClaimStatus(c, 'Pending', undefined);
  }

  /** provisionClaim: hand the claim to its class's provisioner (external), or report why that cannot happen. */
  private provisionClaim(c: PersistentVolumeClaim): void {
    const name = claimClass(c);
    const cls = this.getClass(name);
    if (!cls) {
      this.event(c, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${name}" not found`);
      return;
    }
    const provisioner = cls.provisioner ?? '';
    if (provisioner.startsWith('kubernetes.io/')) {
      // The only in-tree plugin here is flexVolume, which cannot provision.
      this.event(c, 'Warning', 'ProvisioningFailed', `no volume plugin matched name: ${provisioner}`);
      return;
    }
    const p = this.ctx.profile;
    this.store.mutate(PVCS, c.metadata.namespace, c.metadata.name!, (o) => {
      const a = { ...(o.metadata.annotations ?? {}) };
      a[ANN_BETA_PROVISIONER] = provisioner;
      // volume.kubernetes.io/storage-provisioner joined the beta one in 1.23.
      if (p.minor >= 23) a[ANN_PROVISIONER] = provisioner;
      o.metadata.annotations = a;
    });
    // The wording changed in 1.28 (unverified boundary).
    const msg =
      p.minor >= 28
        ? `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`
        : `waiting for a volume to be created, either by external provisioner "${provisioner}" or manually created by system administrator`;
    this.event(c, 'Normal', 'ExternalProvisioning', msg);
  }

  private syncBoundClaim(c: PersistentVolumeClaim): void {
    if (!c.spec.volumeName) {
      this.updateClaimStatus(c, 'Lost', undefined, ['ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!']);
      return;
    }
    const volume = this.store.get(PVS, undefined, c.spec.volumeName) as PersistentVolume | undefined;
    if (!volume) {
      this.updateClaimStatus(c, 'Lost', undefined, ['ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!']);
      return;
    }
    if (!volume.spec.claimRef || volume.spec.claimRef.uid === c.metadata.uid) {
      this.bind(volume, c);
      return;
    }
    this.updateClaimStatus(c, 'Lost', undefined, ['ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly']);
  }

  private updateClaimStatus(c: PersistentVolumeClaim, phase: string, volume: PersistentVolume | undefined, event?: [string, string]): PersistentVolumeClaim | undefined {
    let changedPhase = false;
    const out = this.store.mutate(
      PVCS,
      c.metadata.namespace,
      c.metadata.name!,
      (o) => {
        const p = o as PersistentVolumeClaim;
        if (p.metadata.uid !== c.metadata.uid) return false;
        const s = { ...(p.status ?? {}) };
        changedPhase = s.phase !== phase;
        s.phase = phase;
        if (volume) {
          s.accessModes = volume.spec.accessModes;
          s.capacity = { ...(volume.spec.capacity as Record<string, string>) };
        } else {
          delete s.accessModes;
          delete s.capacity;
        }
        p.status = s;
      },
      'status',
    ) as PersistentVolumeClaim | undefined;
    if (event && changedPhase) this.event(out ?? c, 'Warning', event[0], event[1]);
    return out;
  }

  // ----- binding -----

  /** bind: claimRef on the volume, volume phase Bound, volumeName and annotations on the claim, claim phase Bound. */
  private bind(volume: PersistentVolume, claim: PersistentVolumeClaim): void {
    const v = this.store.mutate(PVS, undefined, volume.metadata.name!, (o) => {
      const pv = o as PersistentVolume;
      const r = pv.spec.claimRef;
      const want: ClaimRef = { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: 'v1', resourceVersion: claim.metadata.resourceVersion };
      if (r && r.uid === claim.metadata.uid && r.name === claim.metadata.name && r.namespace === claim.metadata.namespace) return false;
      // The controller filled claimRef itself (no pre-binding by the user).
      if (!isVolumeBoundToClaim(pv, claim)) pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      pv.spec.claimRef = want;
    }) as PersistentVolume | undefined;
    if (!v) return;
    this.updateVolumePhase(v, 'Bound', '');
    const c = this.store.mutate(PVCS, claim.metadata.namespace, claim.metadata.name!, (o) => {
      const pvc = o as PersistentVolumeClaim;
      if (pvc.metadata.uid !== claim.metadata.uid) return false;
      const a = { ...(pvc.metadata.annotations ?? {}) };
      if (pvc.spec.volumeName !== v.metadata.name) {
        pvc.spec.volumeName = v.metadata.name;
        a[ANN_BOUND_BY_CONTROLLER] = 'yes';
      }
      a[ANN_BIND_COMPLETED] = 'yes';
      pvc.metadata.annotations = a;
    }) as PersistentVolumeClaim | undefined;
    if (c) this.updateClaimStatus(c, 'Bound', v);
  }

  private updateVolumePhase(v: PersistentVolume, phase: string, message: string, event?: [string, string]): PersistentVolume | undefined {
    let changed = false;
    const out = this.store.mutate(
      PVS,
      undefined,
      v.metadata.name!,
      (o) => {
        const pv = o as PersistentVolume;
        if (pv.metadata.uid !== v.metadata.uid) return false;
        if (pv.status?.phase === phase) return false;
        changed = true;
        const s = { ...(pv.status ?? {}), phase };
        if (message) s.message = message;
        else delete s.message;
        if (this.ctx.profile.lastPhaseTransitionTime) s.lastPhaseTransitionTime = this.store.timestamp();
        pv.status = s;
      },
      'status',
    ) as PersistentVolume | undefined;
    if (event && changed) this.event(out ?? v, 'Warning', event[0], event[1]);
    return out;
  }

  // ----- volumes -----

  private syncVolume(v: PersistentVolume): void {
    const ref = v.spec.claimRef;
    if (!ref || !ref.uid) {
      // Unused, or only reserved for a claim whose sync will bind it.
      this.updateVolumePhase(v, 'Available', '');
      return;
    }
    let claim = ref.name && ref.namespace ? (this.store.get(PVCS, ref.namespace, ref.name) as PersistentVolumeClaim | undefined) : undefined;
    if (claim && claim.metadata.uid !== ref.uid) claim = undefined;
    if (!claim) {
      // Claim gone: Released (Failed stays Failed so the user sees it), then the reclaim policy.
      let cur: PersistentVolume | undefined = v;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') cur = this.updateVolumePhase(v, 'Released', '');
      if (cur) this.reclaim(cur);
      return;
    }
    if (!claim.spec.volumeName) {
      this.queue.add(`pvc:${claim.metadata.namespace}/${claim.metadata.name}`);
      return;
    }
    if (claim.spec.volumeName === v.metadata.name) {
      this.updateVolumePhase(v, 'Bound', '');
      return;
    }
    // The claim went to another volume.
    if (v.metadata.annotations?.[ANN_PROVISIONED_BY] !== undefined && v.spec.persistentVolumeReclaimPolicy === 'Delete') {
      let cur: PersistentVolume | undefined = v;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') cur = this.updateVolumePhase(v, 'Released', '');
      if (cur) this.reclaim(cur);
      return;
    }
    this.unbindVolume(v);
  }

  /** reclaimVolume. Deleting needs a deleter plugin, which no volume here has; hostPath and NFS volumes recycle. */
  private reclaim(v: PersistentVolume): void {
    switch (v.spec.persistentVolumeReclaimPolicy ?? 'Retain') {
      case 'Retain':
        return;
      case 'Recycle':
        if (v.spec.hostPath || v.spec.nfs) this.recycle(v);
        else this.updateVolumePhase(v, 'Failed', 'No recycler plugin found for the volume!', ['VolumeFailedRecycle', 'No recycler plugin found for the volume!']);
        return;
      case 'Delete': {
        const by = v.metadata.annotations?.[ANN_PROVISIONED_BY];
        // An external provisioner deletes its own volumes; the controller leaves them Released.
        if (by && !by.startsWith('kubernetes.io/')) return;
        const msg = by ? `no volume plugin matched name: ${by}` : this.ctx.profile.noDeleterMessage(v.metadata.name!);
        this.updateVolumePhase(v, 'Failed', msg, ['VolumeFailedDelete', msg]);
        return;
      }
      default:
        this.updateVolumePhase(v, 'Failed', 'Volume has unrecognized PersistentVolumeReclaimPolicy', ['VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy']);
    }
  }

  /**
   * recycleVolumeOperation + RecycleVolumeByWatchingPodUntilCompletion, level-triggered: start the recycler pod, and on
   * later passes act on its phase. Success: pod deleted, `VolumeRecycled`, the volume unbound and Available. Failure:
   * pod deleted, the volume Failed with `VolumeFailedRecycle` "Recycle failed: ..."; like the real controller, the
   * next sync of the Failed volume tries again.
   */
  private recycle(v: PersistentVolume): void {
    const name = v.metadata.name!;
    const podName = RECYCLER_PREFIX + name;
    const mine = this.recyclers.get(name);
    const pod = this.store.get(PODS, RECYCLER_NS, podName) as (KObject & { status?: { phase?: string; message?: string } }) | undefined;
    const fail = (why: string) => {
      this.recyclers.delete(name);
      this.updateVolumePhase(v, 'Failed', `Recycle failed: ${why}`, ['VolumeFailedRecycle', `Recycle failed: ${why}`]);
    };
    const deletePod = () => {
      try {
        this.store.delete(PODS, RECYCLER_NS, podName, { preconditions: { uid: pod!.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    if (mine && mine.volume !== v.metadata.uid) this.recyclers.delete(name);
    if (pod && mine?.pod === pod.metadata.uid) {
      if (pod.status?.phase === 'Succeeded') {
        deletePod();
        this.recyclers.delete(name);
        this.event(v, 'Normal', 'VolumeRecycled', 'Volume recycled');
        this.unbindVolume(v);
      } else if (pod.status?.phase === 'Failed') {
        deletePod();
        fail(`failed to recycle volume: ${pod.status.message || 'pod failed, pod.Status.Message unknown'}`);
      }
      return;
    }
    if (pod) {
      // Not ours (an earlier controller's, or forged): delete it and retry later.
      if (!pod.metadata.deletionTimestamp) deletePod();
      fail('old recycler pod found, will retry later');
      return;
    }
    if (mine) {
      fail('failed to recycle volume: recycler pod was deleted');
      return;
    }
    try {
      const created = this.store.create(PODS, this.recyclerPod(v), { namespace: RECYCLER_NS }).object;
      this.recyclers.set(name, { pod: created.metadata.uid!, volume: v.metadata.uid! });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      fail(`unexpected error creating recycler pod:  ${err.message}`);
    }
  }

  /**
   * NewPersistentVolumeRecyclerPodTemplate with the plugin's overrides: the volume as `vol` at /scrub and
   * activeDeadlineSeconds from CalculateTimeoutForVolume (KCM defaults: hostPath 60 s minimum, NFS 300 s, both plus
   * 30 s per GiB). Image and scrub command as the emulated release ships them (boundaries partly unverified).
   */
  private recyclerPod(v: PersistentVolume): KObject {
    const minor = this.ctx.profile.minor;
    const [minimum, increment] = v.spec.hostPath ? [60, 30] : [300, 30];
    const gib = Number((storageOf(v.spec.capacity?.storage) ?? 0n) / 1000n / 2n ** 30n);
    const timeout = Math.max(minimum, gib * increment);
    // PR #108449 (1.24) left busybox for debian-base; PR #117283 (1.28) scrubs with find -delete.
    const image =
      minor < 10 ? 'gcr.io/google_containers/busybox' : minor < 24 ? 'k8s.gcr.io/busybox:1.27' : minor < 32 ? 'registry.k8s.io/debian-base:v2.0.0' : 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.2';
    const scrub =
      minor < 28 ? 'test -e /scrub && rm -rf /scrub/..?* /scrub/.[!.]* /scrub/*  && test -z "$(ls -A /scrub)" || exit 1' : 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1';
    const source = v.spec.hostPath ? { hostPath: { path: v.spec.hostPath.path } } : { nfs: { server: v.spec.nfs!.server, path: v.spec.nfs!.path } };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: RECYCLER_PREFIX + v.metadata.name, namespace: RECYCLER_NS },
      spec: {
        activeDeadlineSeconds: timeout,
        restartPolicy: 'Never',
        volumes: [{ name: 'vol', ...source }],
        containers: [{ name: 'pv-recycler', image, command: ['/bin/sh'], args: ['-c', scrub], volumeMounts: [{ name: 'vol', mountPath: '/scrub' }] }],
      },
    };
  }

  /** newRecyclerEventRecorder: events about our recycler pod are repeated on the volume as `RecyclerPod`. */
  private recyclerEvent(type: string, e: KObject): void {
    if (type !== 'ADDED' || e.metadata.namespace !== RECYCLER_NS) return;
    const ev = e as KObject & { involvedObject?: { kind?: string; name?: string; uid?: string }; type?: string; message?: string };
    const inv = ev.involvedObject;
    if (inv?.kind !== 'Pod' || !inv.name?.startsWith(RECYCLER_PREFIX)) return;
    const volumeName = inv.name.slice(RECYCLER_PREFIX.length);
    if (this.recyclers.get(volumeName)?.pod !== inv.uid) return;
    const v = this.store.get(PVS, undefined, volumeName);
    if (v) this.event(v, ev.type === 'Warning' ? 'Warning' : 'Normal', 'RecyclerPod', `Recycler pod: ${ev.message ?? ''}`);
  }

  /** unbindVolume: a controller-made claimRef goes, a user's pre-binding keeps the name; then Available. */
  private unbindVolume(v: PersistentVolume): void {
    const out = this.store.mutate(PVS, undefined, v.metadata.name!, (o) => {
      const pv = o as PersistentVolume;
      if (pv.metadata.uid !== v.metadata.uid) return false;
      if (pv.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] !== undefined) {
        delete pv.spec.claimRef;
        delete pv.metadata.annotations[ANN_BOUND_BY_CONTROLLER];
        if (!Object.keys(pv.metadata.annotations).length) delete pv.metadata.annotations;
      } else if (pv.spec.claimRef) delete pv.spec.claimRef.uid;
    }) as PersistentVolume | undefined;
    if (out) this.updateVolumePhase(out, 'Available', '');
  }
}

/** For callers that want to check a store write failed only because the object vanished. */
export const isNotFound = (err: unknown) => err instanceof ApiError && err.code === 404;
