/**
 * The external dynamic provisioner `datera.io/provisioner-datera`, as Datera's FlexVolume-era guide describes it:
 * for each claim of a StorageClass naming us it creates a Datera app_instance and a PV with a `datera/iscsi`
 * flexVolume source pre-bound to the claim; when a PV it provisioned is Released with reclaim policy Delete it
 * deletes the app_instance and the PV; Retain leaves both.
 *
 * Level-triggered and restart-safe: every pass reads the cluster (list PVCs, list PVs) and acts on what it sees;
 * watch events and a periodic resync only schedule passes. All state lives in the cluster and on the DSP under
 * deterministic names (PV `pvc-<claim uid>`, app_instance `k8s-pvc-<claim uid>`), so a pass after a crash finds
 * what the previous one created instead of creating it twice.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Secret, V1StorageClass } from '@kubernetes/client-node';
import { Backend, type AppInstance, type CreateSpec, type Credentials } from '../flexvolume/backend.js';
import { derivedAiName } from '../flexvolume/driver.js';
import { DateraApiError, DateraConnectionError } from '../datera/client.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

export const PROVISIONER_NAME = 'datera.io/provisioner-datera';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_STORAGE_PROVISIONER_BETA = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const ANN_STORAGE_CLASS_BETA = 'volume.beta.kubernetes.io/storage-class';
const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const FLEX_DRIVER = 'datera/iscsi';

/** StorageClass parameters from the Datera guide. `size` is accepted for old classes but the claim's request wins. */
export const KNOWN_PARAMETERS = [
  'size',
  'replica',
  'template',
  'maxIops',
  'maxBW',
  'ipPool',
  'placementMode',
  'tenant',
  'fsType',
  'volumeSource',
  'secretName',
  'secretNamespace',
  'retainPolicy',
] as const;

export interface EventSpec {
  involvedObject: { apiVersion: string; kind: 'PersistentVolumeClaim' | 'PersistentVolume'; name: string; namespace?: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The handful of Kubernetes calls the provisioner makes; `kube-api.ts` implements it over @kubernetes/client-node. */
export interface KubeApi {
  listPvcs(): Promise<V1PersistentVolumeClaim[]>;
  listPvs(): Promise<V1PersistentVolume[]>;
  /** undefined when it does not exist. */
  getStorageClass(name: string): Promise<V1StorageClass | undefined>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  getPv(name: string): Promise<V1PersistentVolume | undefined>;
  /** 'exists' when a PV of that name is already there (409). */
  createPv(pv: V1PersistentVolume): Promise<'created' | 'exists'>;
  /** No error when it is already gone. */
  deletePv(name: string): Promise<void>;
  createEvent(ev: EventSpec): Promise<void>;
  /** Call `onChange` on every event for PVCs or PVs, `onEnd` when the watch stops; answers a stop function. */
  watch(kind: 'pvc' | 'pv', onChange: () => void, onEnd: (err?: unknown) => void): Promise<() => void>;
}

/** What the provisioner does on the DSP; `Backend` from the FlexVolume driver implements it, so both create alike. */
export interface DateraVolumes {
  ensureVolume(s: CreateSpec): Promise<AppInstance>;
  destroy(name: string): Promise<boolean>;
  close(): Promise<void>;
}
export type DateraFactory = (creds: Credentials, tenant: string) => DateraVolumes;

export interface ProvisionerOptions {
  kube: KubeApi;
  datera?: DateraFactory;
  log?: Logger;
  /**
   * Act only on claims the PV controller has annotated with our name (volume.kubernetes.io/storage-provisioner).
   * That is the protocol: the annotation appears once the controller decided the claim needs an external
   * provisioner (e.g. after delayed binding). Clusters without kube-controller-manager (an embedded API server,
   * some test setups) never set it; there, false accepts every pending claim whose class names us.
   */
  requireProvisionerAnnotation?: boolean;
  /** Where `secretName` is looked up when the class gives no `secretNamespace`. Default `datera`. */
  defaultSecretNamespace?: string;
  /** Periodic full pass. Default 30 s. */
  resyncMs?: number;
  /** First retry delay after a failure, doubled per failure up to maxBackoffMs. Default 1 s / 5 min. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The same event for the same object is not repeated within this time. Default 10 min. */
  eventRepeatMs?: number;
  /** Delay before a watch that ended is started again. Default 2 s. */
  rewatchMs?: number;
}

export interface PassReport {
  provisioned: string[];
  deleted: string[];
  failed: string[];
}

/** A failure with the reason for the Kubernetes event. */
class ProvisionFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The StorageClass parameters: the backend's create fields (but the name and size, which come from the claim) and more. */
interface Params extends Omit<CreateSpec, 'aiName' | 'size'> {
  className: string;
  tenant: string;
  fsType: string;
  secretName: string;
  secretNamespace: string;
  retainPolicy?: string;
  reclaimPolicy: string;
}

const GiB = 2 ** 30;

/** Bytes in a Kubernetes quantity (`10Gi`, `500M`, `1.5G`, `1e9`), or undefined when it is not one. */
export function quantityBytes(q: string): number | undefined {
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const mult: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return n * (m[3] ? mult[m[3]]! : 1);
}

/** A claim's request in whole GiB, rounded up, at least 1. */
export function requestGiB(pvc: V1PersistentVolumeClaim): number {
  const raw = pvc.spec?.resources?.requests?.storage;
  if (raw === undefined) return 1;
  const bytes = quantityBytes(String(raw));
  if (bytes === undefined) throw new ProvisionFailure('ProvisioningFailed', `the claim's storage request "${String(raw)}" is not a quantity`);
  return Math.max(1, Math.ceil(bytes / GiB - 1e-9));
}

export const pvNameFor = (pvc: V1PersistentVolumeClaim) => `pvc-${pvc.metadata!.uid}`;

function intParam(p: Record<string, string>, name: string, min: number, max: number): number | undefined {
  const v = p[name]?.trim();
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new ProvisionFailure('ProvisioningFailed', `StorageClass parameter ${name}="${p[name]}" is not valid: an integer ${min}-${max}`);
  return Number(v);
}

/** The class name a claim asks for: the deprecated beta annotation still wins over the field. */
function classOf(pvc: V1PersistentVolumeClaim): string | undefined {
  return pvc.metadata?.annotations?.[ANN_STORAGE_CLASS_BETA] ?? pvc.spec?.storageClassName ?? undefined;
}

function decode(secret: V1Secret, key: string, where: string): string {
  const v = secret.data?.[key];
  if (!v) throw new ProvisionFailure('ProvisioningFailed', `secret ${where} has no ${key} key; a secret of type ${FLEX_DRIVER} needs username, password and server`);
  return Buffer.from(v, 'base64').toString('utf8').replace(/\n$/, '');
}

/** The Datera error behind a failure, by name, for events: "AuthFailedError (401): ...". Never carries the password. */
export function describeFailure(err: unknown): string {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof DateraApiError) return `${e.dateraName ?? 'DateraApiError'} (HTTP ${e.status}): ${errorMessage(err)}`;
    if (e instanceof DateraConnectionError) return `DateraConnectionError: ${errorMessage(err)}`;
    if (!(e instanceof Error)) break;
  }
  return errorMessage(err);
}

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

export class Provisioner {
  private readonly kube: KubeApi;
  private readonly datera: DateraFactory;
  private readonly log: Logger;
  private readonly o: Required<Omit<ProvisionerOptions, 'kube' | 'datera' | 'log'>>;
  private readonly backoff = new Map<string, { failures: number; notBefore: number }>();
  private readonly sentEvents = new Map<string, number>();
  /** Passwords read from secrets: scrubbed from every event and log line, whatever an error message echoes. */
  private readonly secrets = new Set<string>();
  private running: Promise<PassReport> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly stops = new Map<'pvc' | 'pv', () => void>();
  private stopped = true;

  constructor(opts: ProvisionerOptions) {
    this.kube = opts.kube;
    this.datera = opts.datera ?? ((c, t) => new Backend(c, t, 10_000));
    this.log = opts.log ?? silent;
    this.o = {
      requireProvisionerAnnotation: opts.requireProvisionerAnnotation ?? true,
      defaultSecretNamespace: opts.defaultSecretNamespace ?? 'datera',
      resyncMs: opts.resyncMs ?? 30_000,
      backoffMs: opts.backoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 300_000,
      eventRepeatMs: opts.eventRepeatMs ?? 600_000,
      rewatchMs: opts.rewatchMs ?? 2000,
    };
  }

  /** Watch PVCs and PVs, resync periodically; the first pass runs before this returns. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.pass();
    for (const kind of ['pvc', 'pv'] as const) await this.startWatch(kind);
    this.timer = setInterval(() => void this.trigger(), this.o.resyncMs);
  }

  private async startWatch(kind: 'pvc' | 'pv'): Promise<void> {
    if (this.stopped) return;
    const restart = (err?: unknown) => {
      if (this.stopped) return;
      if (err) this.log.warn('watch ended', { kind, error: errorMessage(err) });
      // A gap between watches may have missed events: the pass after a restart catches up.
      setTimeout(() => void this.startWatch(kind).then(() => this.trigger()), this.o.rewatchMs).unref();
    };
    try {
      this.stops.set(kind, await this.kube.watch(kind, () => void this.trigger(), restart));
    } catch (err) {
      restart(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.stops.values()) s();
    this.stops.clear();
    await this.running?.catch(() => undefined);
  }

  /** Ask for a pass; passes never overlap, and a request during one runs one more afterwards. */
  trigger(): Promise<PassReport> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    return this.pass();
  }

  private pass(): Promise<PassReport> {
    this.running = (async () => {
      let report: PassReport;
      do {
        this.again = false;
        report = await this.reconcileOnce().catch((err: unknown) => {
          this.log.error('reconcile pass failed', { error: errorMessage(err) });
          return { provisioned: [], deleted: [], failed: ['(pass)'] };
        });
      } while (this.again && !this.stopped);
      this.running = undefined;
      return report;
    })();
    return this.running;
  }

  /** One full level-triggered pass over claims and volumes. */
  async reconcileOnce(now = Date.now()): Promise<PassReport> {
    const report: PassReport = { provisioned: [], deleted: [], failed: [] };
    const [pvcs, pvs] = await Promise.all([this.kube.listPvcs(), this.kube.listPvs()]);
    const pvNames = new Set(pvs.map((p) => p.metadata?.name));
    const classes = new Map<string, V1StorageClass | undefined>();
    const seen = new Set<string>();
    for (const pvc of pvcs) {
      const uid = pvc.metadata?.uid;
      if (!uid) continue;
      seen.add(uid);
      const sc = await this.ourClass(pvc, classes);
      if (!sc || !this.wantsVolume(pvc, sc) || pvNames.has(pvNameFor(pvc))) {
        this.backoff.delete(uid);
        continue;
      }
      if (this.waiting(uid, now)) continue;
      const name = `${pvc.metadata!.namespace}/${pvc.metadata!.name}`;
      try {
        await this.provision(pvc, sc);
        this.backoff.delete(uid);
        report.provisioned.push(name);
      } catch (err) {
        this.failed(uid, now);
        report.failed.push(name);
        const reason = err instanceof ProvisionFailure ? err.reason : 'ProvisioningFailed';
        this.log.warn('provisioning failed', { claim: name, error: this.scrub(describeFailure(err)) });
        await this.event(pvc, 'PersistentVolumeClaim', 'Warning', reason, describeFailure(err), now);
      }
    }
    for (const pv of pvs) {
      const name = pv.metadata?.name;
      if (!name || !this.deletable(pv)) continue;
      seen.add(name);
      if (this.waiting(name, now)) continue;
      try {
        await this.deleteVolume(pv);
        this.backoff.delete(name);
        report.deleted.push(name);
      } catch (err) {
        this.failed(name, now);
        report.failed.push(name);
        this.log.warn('deleting a released volume failed', { pv: name, error: this.scrub(describeFailure(err)) });
        await this.event(pv, 'PersistentVolume', 'Warning', 'VolumeFailedDelete', describeFailure(err), now);
      }
    }
    for (const k of this.backoff.keys()) if (!seen.has(k)) this.backoff.delete(k);
    for (const [k, t] of this.sentEvents) if (now - t > this.o.eventRepeatMs) this.sentEvents.delete(k);
    return report;
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length >= 3) out = out.split(s).join('[redacted]');
    return out;
  }

  private waiting(key: string, now: number): boolean {
    const b = this.backoff.get(key);
    return b !== undefined && now < b.notBefore;
  }

  private failed(key: string, now: number): void {
    const failures = (this.backoff.get(key)?.failures ?? 0) + 1;
    this.backoff.set(key, { failures, notBefore: now + Math.min(this.o.backoffMs * 2 ** (failures - 1), this.o.maxBackoffMs) });
  }

  /** The claim's StorageClass when it names us (looked up once per pass). */
  private async ourClass(pvc: V1PersistentVolumeClaim, cache: Map<string, V1StorageClass | undefined>): Promise<V1StorageClass | undefined> {
    const name = classOf(pvc);
    if (!name) return undefined;
    if (!cache.has(name)) {
      try {
        cache.set(name, await this.kube.getStorageClass(name));
      } catch (err) {
        // One unreadable class must not stop the pass (released PVs still get deleted); the next pass retries.
        this.log.warn('cannot read StorageClass', { storageClass: name, error: errorMessage(err) });
        cache.set(name, undefined);
      }
    }
    const sc = cache.get(name);
    return sc?.provisioner === PROVISIONER_NAME ? sc : undefined;
  }

  /** Pending, unbound, not being deleted, and (unless configured otherwise) handed to us by the PV controller. */
  private wantsVolume(pvc: V1PersistentVolumeClaim, sc: V1StorageClass): boolean {
    if ((pvc.status?.phase ?? 'Pending') !== 'Pending' || pvc.spec?.volumeName || pvc.metadata?.deletionTimestamp) return false;
    const a = pvc.metadata?.annotations ?? {};
    const named = a[ANN_STORAGE_PROVISIONER] ?? a[ANN_STORAGE_PROVISIONER_BETA];
    if (named !== undefined) return named === PROVISIONER_NAME;
    if (this.o.requireProvisionerAnnotation) return false;
    // The controller would wait for the scheduler's node choice before handing the claim over; so do we.
    return sc.volumeBindingMode !== 'WaitForFirstConsumer' || a[ANN_SELECTED_NODE] !== undefined;
  }

  private deletable(pv: V1PersistentVolume): boolean {
    return (
      pv.metadata?.annotations?.[ANN_PROVISIONED_BY] === PROVISIONER_NAME &&
      pv.status?.phase === 'Released' &&
      pv.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
      !pv.metadata?.deletionTimestamp
    );
  }

  private params(pvc: V1PersistentVolumeClaim, sc: V1StorageClass): Params {
    const p = sc.parameters ?? {};
    const className = sc.metadata!.name!;
    const unknown = Object.keys(p).filter((k) => !(KNOWN_PARAMETERS as readonly string[]).includes(k));
    if (unknown.length)
      throw new ProvisionFailure(
        'ProvisioningFailed',
        `StorageClass ${className} has unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known parameters: ${KNOWN_PARAMETERS.join(', ')}`,
      );
    if (pvc.spec?.selector) throw new ProvisionFailure('ProvisioningFailed', 'claim Selector is not supported');
    const modes = pvc.spec?.accessModes ?? [];
    const bad = modes.filter((m) => m !== 'ReadWriteOnce' && m !== 'ReadWriteOncePod');
    if (bad.length) throw new ProvisionFailure('ProvisioningFailed', `access mode ${bad.join(', ')} is not supported: Datera iSCSI volumes are ReadWriteOnce`);
    if (pvc.spec?.volumeMode === 'Block') throw new ProvisionFailure('ProvisioningFailed', 'volumeMode Block is not supported by the datera/iscsi FlexVolume driver');
    const fsType = (p.fsType ?? 'xfs').trim();
    if (!/^[a-z0-9]{2,16}$/.test(fsType)) throw new ProvisionFailure('ProvisioningFailed', `StorageClass parameter fsType="${p.fsType}" is not valid: a filesystem type such as xfs or ext4`);
    const retainPolicy = p.retainPolicy?.trim().toLowerCase() || undefined;
    if (retainPolicy !== undefined && retainPolicy !== 'retain')
      throw new ProvisionFailure(
        'ProvisioningFailed',
        `StorageClass parameter retainPolicy="${p.retainPolicy}" is not valid for dynamic volumes: only retain (never would delete the data on detach); set the class's reclaimPolicy instead`,
      );
    const secretName = p.secretName?.trim();
    if (!secretName) throw new ProvisionFailure('ProvisioningFailed', `StorageClass ${className} has no secretName parameter: name a secret of type ${FLEX_DRIVER} with username, password and server`);
    return {
      className,
      replica: intParam(p, 'replica', 1, 5) ?? 3,
      template: p.template?.trim() || undefined,
      maxIops: intParam(p, 'maxIops', 0, 10_000_000),
      maxBW: intParam(p, 'maxBW', 0, 10_240_000),
      ipPool: p.ipPool?.trim() || 'default',
      placementMode: p.placementMode?.trim() || 'hybrid',
      tenant: p.tenant?.trim() || '/root',
      fsType,
      volumeSource: p.volumeSource?.trim() || undefined,
      secretName,
      secretNamespace: p.secretNamespace?.trim() || this.o.defaultSecretNamespace,
      retainPolicy,
      reclaimPolicy: sc.reclaimPolicy ?? 'Delete',
    };
  }

  private async credentials(namespace: string, name: string): Promise<Credentials> {
    const where = `${namespace}/${name}`;
    const secret = await this.kube.getSecret(namespace, name);
    if (!secret) throw new ProvisionFailure('ProvisioningFailed', `secret ${where} not found; create a secret of type ${FLEX_DRIVER} with username, password and server`);
    if (secret.type !== FLEX_DRIVER) throw new ProvisionFailure('ProvisioningFailed', `secret ${where} has type ${secret.type ?? 'Opaque'}; it must be of type ${FLEX_DRIVER}`);
    const password = decode(secret, 'password', where);
    this.secrets.add(password);
    return { user: decode(secret, 'username', where), password, server: decode(secret, 'server', where), source: `secret ${where}` };
  }

  private async provision(pvc: V1PersistentVolumeClaim, sc: V1StorageClass): Promise<void> {
    const p = this.params(pvc, sc);
    const size = requestGiB(pvc);
    const creds = await this.credentials(p.secretNamespace, p.secretName);
    const pvName = pvNameFor(pvc);
    const aiName = derivedAiName(pvName);
    const be = this.datera(creds, p.tenant);
    let ai: AppInstance;
    try {
      // Finds the app_instance a crashed pass created, so retries never make a second one.
      ai = await be.ensureVolume({ aiName, size, replica: p.replica, template: p.template, maxIops: p.maxIops, maxBW: p.maxBW, ipPool: p.ipPool, placementMode: p.placementMode, volumeSource: p.volumeSource });
      const actual = (ai.storage_instances?.[0]?.volumes?.[0] as { size?: number } | undefined)?.size ?? size;
      if (actual < size) {
        await be.destroy(aiName);
        throw new ProvisionFailure('ProvisioningFailed', `${p.template ? `template ${p.template}` : `volumeSource ${p.volumeSource}`} gives a ${actual} GiB volume, the claim asks for ${size} GiB`);
      }
      const options: Record<string, string> = { volumeID: aiName, size: String(actual), replica: String(p.replica) };
      const opt = (k: string, v: string | number | undefined) => {
        if (v !== undefined) options[k] = String(v);
      };
      opt('template', p.template);
      opt('maxIops', p.maxIops);
      opt('maxBW', p.maxBW);
      if (sc.parameters?.ipPool) opt('ipPool', p.ipPool);
      if (sc.parameters?.placementMode) opt('placementMode', p.placementMode);
      if (sc.parameters?.tenant) opt('tenant', p.tenant);
      opt('volumeSource', p.volumeSource);
      opt('retainPolicy', p.retainPolicy);
      const pv: V1PersistentVolume = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: PROVISIONER_NAME } },
        spec: {
          capacity: { storage: `${actual}Gi` },
          accessModes: pvc.spec?.accessModes?.length ? pvc.spec.accessModes : ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: p.reclaimPolicy,
          storageClassName: p.className,
          ...(sc.mountOptions?.length ? { mountOptions: sc.mountOptions } : {}),
          volumeMode: 'Filesystem',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata!.namespace, name: pvc.metadata!.name, uid: pvc.metadata!.uid },
          flexVolume: { driver: FLEX_DRIVER, fsType: p.fsType, secretRef: { name: p.secretName, namespace: p.secretNamespace }, options },
        },
      };
      const created = await this.kube.createPv(pv);
      this.log.info('provisioned', { claim: `${pvc.metadata!.namespace}/${pvc.metadata!.name}`, pv: pvName, appInstance: aiName, sizeGiB: actual, created });
    } finally {
      await be.close();
    }
    await this.event(pvc, 'PersistentVolumeClaim', 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName} (Datera app_instance ${aiName})`);
  }

  private async deleteVolume(pv: V1PersistentVolume): Promise<void> {
    const name = pv.metadata!.name!;
    const flex = pv.spec?.flexVolume;
    if (flex?.driver !== FLEX_DRIVER) throw new ProvisionFailure('VolumeFailedDelete', `PV ${name} has no ${FLEX_DRIVER} flexVolume source; delete it and its Datera volume by hand`);
    const ref = flex.secretRef;
    if (!ref?.name) throw new ProvisionFailure('VolumeFailedDelete', `PV ${name} has no flexVolume.secretRef; cannot reach Datera to delete its volume`);
    const creds = await this.credentials(ref.namespace || this.o.defaultSecretNamespace, ref.name);
    const aiName = flex.options?.volumeID || derivedAiName(name);
    const be = this.datera(creds, flex.options?.tenant || '/root');
    try {
      // destroy() answers false for an app_instance that is already gone: a pass after a crash goes on to the PV.
      const existed = await be.destroy(aiName);
      this.log.info('deleted app_instance', { pv: name, appInstance: aiName, existed });
    } finally {
      await be.close();
    }
    await this.kube.deletePv(name);
    this.log.info('deleted released volume', { pv: name });
  }

  private async event(
    obj: V1PersistentVolumeClaim | V1PersistentVolume,
    kind: EventSpec['involvedObject']['kind'],
    type: EventSpec['type'],
    reason: string,
    message: string,
    now = Date.now(),
  ): Promise<void> {
    message = this.scrub(message);
    const m = obj.metadata!;
    const key = `${m.uid ?? m.name}|${reason}|${message}`;
    const last = this.sentEvents.get(key);
    if (last !== undefined && now - last < this.o.eventRepeatMs) return;
    this.sentEvents.set(key, now);
    try {
      await this.kube.createEvent({ involvedObject: { apiVersion: 'v1', kind, name: m.name!, namespace: m.namespace, uid: m.uid }, type, reason, message: message.slice(0, 1000) });
    } catch (err) {
      // An event is a report, not state: losing one must not fail the volume operation.
      this.log.warn('could not record an event', { reason, object: m.name, error: errorMessage(err) });
    }
  }
}
