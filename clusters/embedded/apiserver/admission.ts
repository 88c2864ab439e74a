/**
 * Admission for the embedded API server: what a real kube-apiserver does between decoding and storage. Defaults
 * (pkg/apis/core/v1/defaults.go, apps/v1 and apps/v1beta1 defaults, storage defaults, the registry strategies' status
 * resets), validation with apimachinery's field-error texts (pkg/apis/core/validation, apps/validation), and the
 * default admission plugins the scenarios can see: ServiceAccount, DefaultStorageClass,
 * StorageObjectInUseProtection, DefaultTolerationSeconds, Priority. NamespaceLifecycle lives in the store.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClusterProfile } from '../profiles.js';
import type { ResourceType } from './resources.js';
import { selectorMatches, type LabelSelectorObject } from './selectors.js';
import { ApiError, badRequest, forbidden, invalid } from './status.js';
import type { Admission, KObject, Op, Store } from './store.js';

type Obj = Record<string, unknown>;
type FieldErr = { field: string; type: string; detail: string; value?: unknown };

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_HELP = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * A resource.Quantity as an integer (bytes for storage), rounded up as Quantity.Value() does. Accepts the binary
 * (Ki..Ei), decimal (n..E) and exponent (1e3, 1E-3) suffixes. Throws a BadRequest with the decoder's text otherwise.
 */
export function parseQuantity(s: string): bigint {
  const m = QUANTITY.exec(String(s).trim());
  if (!m) throw badRequest(QUANTITY_HELP);
  let num = m[1]!;
  const suffix = m[2]!;
  let negative = false;
  if (num.startsWith('-') || num.startsWith('+')) {
    negative = num.startsWith('-');
    num = num.slice(1);
  }
  const parts = num.split('.');
  if (parts.length > 2 || num === '.' || num === '') throw badRequest(QUANTITY_HELP);
  const frac = parts[1] ?? '';
  let numer = BigInt((parts[0] || '0') + frac);
  let denom = 10n ** BigInt(frac.length);
  let pow10 = 0;
  if (suffix in BINARY) numer *= 2n ** BigInt(BINARY[suffix]!);
  else if (suffix in DECIMAL) pow10 = DECIMAL[suffix]!;
  else {
    const e = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
    if (!e) throw badRequest(QUANTITY_HELP);
    pow10 = Number(e[1]);
  }
  if (pow10 >= 0) numer *= 10n ** BigInt(pow10);
  else denom *= 10n ** BigInt(-pow10);
  let v = numer / denom;
  if (v * denom !== numer) v += 1n;
  return negative ? -v : v;
}

/** Whether a string is a quantity at all (validation of user input). */
function isQuantity(s: unknown): boolean {
  if (typeof s === 'number') return true;
  if (typeof s !== 'string') return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

const obj = (x: unknown): Obj => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : {});
const arr = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);
/** The object at `o[k]`, created when missing. */
function child(o: Obj, k: string): Obj {
  if (!o[k] || typeof o[k] !== 'object' || Array.isArray(o[k])) o[k] = {};
  return o[k] as Obj;
}
const setDefault = (o: Obj, k: string, v: unknown) => {
  if (o[k] === undefined || o[k] === null) o[k] = v;
};

/** DefaultStorageClass: the annotation (GA) and its beta form. */
export const IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const IS_DEFAULT_CLASS_BETA = 'storageclass.beta.kubernetes.io/is-default-class';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

const PV_SOURCES = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc', 'flocker',
  'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'local', 'storageos', 'csi',
];

/** The default StorageClass for a new claim: the newest by creationTimestamp (1.26+ picks the newest; older refuse several). */
export function defaultStorageClass(store: Store, profile: ClusterProfile): KObject | undefined {
  const defaults = store
    .list('storage.k8s.io/storageclasses')
    .items.filter((sc) => sc.metadata.annotations?.[IS_DEFAULT_CLASS] === 'true' || sc.metadata.annotations?.[IS_DEFAULT_CLASS_BETA] === 'true');
  if (!defaults.length) return undefined;
  if (defaults.length > 1 && profile.minor < 26)
    // Before 1.26 (PR #110559) several defaults made admission refuse the claim.
    throw forbidden('', 'persistentvolumeclaims', '', `Internal error occurred: ${defaults.length} default StorageClasses were found`);
  return defaults.sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)) || a.metadata.name!.localeCompare(b.metadata.name!))[0];
}

/** The ClusterIP range of a kubeadm cluster. */
const SERVICE_CIDR_BASE = (10 << 24) | (96 << 16);
const SERVICE_CIDR_SIZE = 1 << 20;

const ipOf = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
function ipNum(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

const VALID_ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce'];

export class EmbeddedAdmission implements Admission {
  /**
   * ServiceAccount admission refuses pods whose service account does not exist. Off until the service-accounts
   * controller runs (it turns this on), so a store without controllers accepts pods.
   */
  enforceServiceAccounts = false;

  constructor(readonly profile: ClusterProfile) {}

  admit(op: Op, rt: ResourceType, o: KObject, old: KObject | undefined, store: Store, sub?: string): string[] {
    const warnings: string[] = [];
    if (op === 'delete') return warnings;
    if (sub === 'status' || sub === 'finalize') return warnings;
    switch (rt.kind) {
      case 'Pod':
        this.pod(op, o, old, store);
        break;
      case 'Service':
        this.service(op, o, old, store);
        break;
      case 'PersistentVolume':
        this.pv(op, o, old, warnings);
        break;
      case 'PersistentVolumeClaim':
        this.pvc(op, o, old, store);
        break;
      case 'StatefulSet':
        this.statefulSet(op, rt, o, old);
        break;
      case 'Deployment':
        this.deployment(o);
        break;
      case 'Namespace':
        if (op === 'create') {
          setDefault(child(o, 'spec'), 'finalizers', ['kubernetes']);
          o.status = { phase: 'Active' };
        }
        // NamespaceDefaultLabelName (GA 1.22, beta on in 1.21): every namespace carries its name as a label.
        if (this.profile.minor >= 21 && o.metadata.name) o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
        break;
      case 'StorageClass':
        this.storageClass(op, o, old);
        break;
      case 'Secret': {
        setDefault(o, 'type', 'Opaque');
        // stringData is write-only: the v1 conversion merges it into data (base64), where it wins over data.
        const strings = obj((o as Obj).stringData);
        if (Object.keys(strings).length) {
          const data = { ...obj((o as Obj).data) };
          for (const [k, v] of Object.entries(strings)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
          (o as Obj).data = data;
        }
        delete (o as Obj).stringData;
        break;
      }
    }
    return warnings;
  }

  // ---- Pods ----

  /** PodSpec defaults shared by pods and templates (SetDefaults_PodSpec, SetDefaults_Container, probes, volumes). */
  podSpecDefaults(spec: Obj): void {
    const p = this.profile;
    setDefault(spec, 'restartPolicy', 'Always');
    setDefault(spec, 'dnsPolicy', 'ClusterFirst');
    setDefault(spec, 'terminationGracePeriodSeconds', 30);
    setDefault(spec, 'securityContext', {});
    setDefault(spec, 'schedulerName', 'default-scheduler');
    for (const list of ['initContainers', 'containers'] as const) {
      for (const c of arr(spec[list])) {
        const image = typeof c.image === 'string' ? c.image : '';
        // The tag is after the last ':' that follows the last '/'; a digest pins the image.
        const lastPart = image.slice(image.lastIndexOf('/') + 1);
        const tag = image.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
        setDefault(c, 'imagePullPolicy', tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent');
        setDefault(c, 'terminationMessagePath', '/dev/termination-log');
        if (p.minor >= 7) setDefault(c, 'terminationMessagePolicy', 'File');
        setDefault(c, 'resources', {});
        for (const port of arr(c.ports)) setDefault(port, 'protocol', 'TCP');
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          if (!c[probe] || typeof c[probe] !== 'object') continue;
          const pr = c[probe] as Obj;
          setDefault(pr, 'timeoutSeconds', 1);
          setDefault(pr, 'periodSeconds', 10);
          setDefault(pr, 'successThreshold', 1);
          setDefault(pr, 'failureThreshold', 3);
          if (pr.httpGet && typeof pr.httpGet === 'object') {
            setDefault(pr.httpGet as Obj, 'path', '/');
            setDefault(pr.httpGet as Obj, 'scheme', 'HTTP');
          }
        }
        for (const env of arr(c.env)) {
          const fr = obj(obj(env.valueFrom).fieldRef);
          if (env.valueFrom && obj(env.valueFrom).fieldRef) setDefault(fr, 'apiVersion', 'v1');
        }
      }
    }
    for (const v of arr(spec.volumes)) {
      if (v.secret && typeof v.secret === 'object') setDefault(v.secret as Obj, 'defaultMode', 420);
      if (v.configMap && typeof v.configMap === 'object') setDefault(v.configMap as Obj, 'defaultMode', 420);
      if (v.downwardAPI && typeof v.downwardAPI === 'object') setDefault(v.downwardAPI as Obj, 'defaultMode', 420);
      if (v.hostPath && typeof v.hostPath === 'object' && p.minor >= 8) setDefault(v.hostPath as Obj, 'type', '');
    }
  }

  /** Validation of a PodSpec at `path` (containers need name and image, mounts name a volume). */
  podSpecErrors(spec: Obj, path: string): FieldErr[] {
    const errs: FieldErr[] = [];
    const volumes = new Set(arr(spec.volumes).map((v) => v.name as string));
    const containers = arr(spec.containers);
    if (!containers.length) errs.push({ field: `${path}.containers`, type: 'Required value', detail: '' });
    arr(spec.volumes).forEach((v, i) => {
      if (!v.name) errs.push({ field: `${path}.volumes[${i}].name`, type: 'Required value', detail: '' });
    });
    for (const list of ['initContainers', 'containers'] as const) {
      arr(spec[list]).forEach((c, i) => {
        const at = `${path}.${list}[${i}]`;
        if (!c.name) errs.push({ field: `${at}.name`, type: 'Required value', detail: '' });
        if (!c.image) errs.push({ field: `${at}.image`, type: 'Required value', detail: '' });
        arr(c.volumeMounts).forEach((m, j) => {
          if (!m.name) errs.push({ field: `${at}.volumeMounts[${j}].name`, type: 'Required value', detail: '' });
          else if (!volumes.has(m.name as string)) errs.push({ field: `${at}.volumeMounts[${j}].name`, type: 'Not found', value: m.name, detail: '' });
          if (!m.mountPath) errs.push({ field: `${at}.volumeMounts[${j}].mountPath`, type: 'Required value', detail: '' });
        });
      });
    }
    return errs;
  }

  private pod(op: Op, o: KObject, old: KObject | undefined, store: Store): void {
    const spec = child(o, 'spec');
    const name = o.metadata.name ?? '';
    if (op === 'update' && old) {
      // Pod spec is immutable except images, activeDeadlineSeconds and added tolerations; controllers here only
      // write nodeName through binding (modelled as an update from an unset nodeName).
      const a = structuredClone(obj(old.spec));
      const b = structuredClone(spec);
      for (const s of [a, b]) {
        for (const c of [...arr(s.containers), ...arr(s.initContainers)]) delete c.image;
        delete s.activeDeadlineSeconds;
        delete s.tolerations;
      }
      // Binding sets nodeName once; after that it is compared like the rest (it cannot change).
      if (!a.nodeName) {
        delete a.nodeName;
        delete b.nodeName;
      }
      if (!isDeepStrictEqual(a, b))
        throw invalid('', 'Pod', name, [{ field: 'spec', type: 'Forbidden', detail: 'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' }]);
      return;
    }
    this.podSpecDefaults(spec);
    // ServiceAccount admission.
    if (!spec.serviceAccountName) spec.serviceAccountName = (spec.serviceAccount as string | undefined) || 'default';
    spec.serviceAccount = spec.serviceAccountName;
    if (this.profile.minor >= 13) setDefault(spec, 'enableServiceLinks', true);
    if (this.profile.minor >= 11) setDefault(spec, 'priority', 0);
    if (this.profile.minor >= 19) setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
    // DefaultTolerationSeconds: tolerate not-ready/unreachable for 300 s unless the pod says otherwise.
    if (this.profile.minor >= 10) {
      const tol = arr(spec.tolerations);
      for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'])
        if (!tol.some((t) => t.key === key || (t.operator === 'Exists' && !t.key)))
          tol.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
      spec.tolerations = tol;
    }
    const errs = this.podSpecErrors(spec, 'spec');
    if (errs.length) throw invalid('', 'Pod', name, errs);
    if (this.enforceServiceAccounts && !store.get('core/serviceaccounts', o.metadata.namespace, spec.serviceAccountName as string)) {
      throw forbidden('', 'pods', name, `error looking up service account ${o.metadata.namespace}/${String(spec.serviceAccountName)}: serviceaccount "${String(spec.serviceAccountName)}" not found`);
    }
    o.status = { phase: 'Pending', qosClass: qosClass(spec) };
  }

  // ---- Services ----

  private service(op: Op, o: KObject, old: KObject | undefined, store: Store): void {
    const spec = child(o, 'spec');
    const name = o.metadata.name ?? '';
    const p = this.profile;
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    for (const port of arr(spec.ports)) {
      setDefault(port, 'protocol', 'TCP');
      setDefault(port, 'targetPort', port.port);
    }
    if (op === 'update' && old) {
      // Allocated values survive an update that leaves them out (patchAllocatedValues).
      const os = obj(old.spec);
      if (!spec.clusterIP && os.clusterIP) spec.clusterIP = os.clusterIP;
      if (!spec.clusterIPs && os.clusterIPs) spec.clusterIPs = os.clusterIPs;
      if (spec.clusterIP !== os.clusterIP)
        throw invalid('', 'Service', name, [{ field: 'spec.clusterIP', type: 'Invalid value', value: spec.clusterIP, detail: 'field is immutable' }]);
    } else if (spec.type !== 'ExternalName') {
      if (!arr(spec.ports).length && spec.clusterIP !== 'None')
        throw invalid('', 'Service', name, [{ field: 'spec.ports', type: 'Required value', detail: '' }]);
      if (spec.clusterIP !== 'None') spec.clusterIP = this.allocateClusterIP(store, name, o.metadata.namespace, spec.clusterIP as string | undefined);
    }
    if (p.minor >= 20 && spec.type !== 'ExternalName') {
      setDefault(spec, 'clusterIPs', [spec.clusterIP]);
      setDefault(spec, 'ipFamilies', ['IPv4']);
      setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    }
    if (p.minor >= 22 && spec.type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    if (op === 'create') o.status = { loadBalancer: {} };
  }

  private allocateClusterIP(store: Store, name: string, ns: string | undefined, want: string | undefined): string {
    const used = new Set(store.list('core/services').items.map((s) => obj(s.spec).clusterIP as string));
    if (want) {
      const n = ipNum(want);
      if (n === undefined || n < SERVICE_CIDR_BASE || n >= SERVICE_CIDR_BASE + SERVICE_CIDR_SIZE)
        throw invalid('', 'Service', name, [{ field: 'spec.clusterIPs', type: 'Invalid value', value: [want], detail: 'failed to allocate IP ' + want + ': provided IP (' + want + ') is not in the valid range. The range of valid IPs is 10.96.0.0/12' }]);
      if (used.has(want)) throw invalid('', 'Service', name, [{ field: 'spec.clusterIPs', type: 'Invalid value', value: [want], detail: `failed to allocate IP ${want}: provided IP is already allocated` }]);
      return want;
    }
    // 10.96.0.1 belongs to default/kubernetes; others take the lowest free address after a name-derived start
    // (real allocation is random; a stable start keeps tests reproducible).
    if (ns === 'default' && name === 'kubernetes' && !used.has(ipOf(SERVICE_CIDR_BASE + 1))) return ipOf(SERVICE_CIDR_BASE + 1);
    let h = 0;
    for (const ch of `${ns}/${name}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    for (let i = 0; i < SERVICE_CIDR_SIZE; i++) {
      const n = 2 + ((h + i) % (SERVICE_CIDR_SIZE - 3));
      const ip = ipOf(SERVICE_CIDR_BASE + n);
      if (!used.has(ip)) return ip;
    }
    throw new ApiError(500, 'InternalError', 'Internal error occurred: failed to allocate a serviceIP: range is full');
  }

  // ---- Persistent volumes ----

  private pv(op: Op, o: KObject, old: KObject | undefined, warnings: string[]): void {
    const spec = child(o, 'spec');
    const name = o.metadata.name ?? '';
    setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    if (this.profile.minor >= 13) setDefault(spec, 'volumeMode', 'Filesystem');
    const errs: FieldErr[] = [];
    if (!arr(spec.accessModes).length) errs.push({ field: 'spec.accessModes', type: 'Required value', detail: '' });
    for (const m of arr(spec.accessModes) as unknown as string[])
      if (!this.accessModes().includes(m)) errs.push({ field: 'spec.accessModes', type: 'Unsupported value', value: m, detail: `supported values: ${this.accessModes().map((x) => JSON.stringify(x)).join(', ')}` });
    const cap = obj(spec.capacity);
    if (!Object.keys(cap).length) errs.push({ field: 'spec.capacity', type: 'Required value', detail: '' });
    else if (!('storage' in cap) || Object.keys(cap).length > 1) errs.push({ field: 'spec.capacity', type: 'Unsupported value', value: cap, detail: 'supported values: "storage"' });
    this.quantities(o, cap, 'spec.capacity');
    const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
    if (!sources.length) errs.push({ field: 'spec', type: 'Required value', detail: 'must specify a volume type' });
    for (const s of sources.slice(1)) errs.push({ field: `spec.${s}`, type: 'Forbidden', detail: 'may not specify more than 1 volume type' });
    if (spec.flexVolume && !obj(spec.flexVolume).driver) errs.push({ field: 'spec.flexVolume.driver', type: 'Required value', detail: '' });
    const policy = spec.persistentVolumeReclaimPolicy as string;
    if (!['Retain', 'Delete', 'Recycle'].includes(policy))
      errs.push({ field: 'spec.persistentVolumeReclaimPolicy', type: 'Unsupported value', value: policy, detail: 'supported values: "Delete", "Recycle", "Retain"' });
    if (op === 'update' && old) {
      const pick = (s: Obj) => Object.fromEntries(PV_SOURCES.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
      if (!isDeepStrictEqual(pick(spec), pick(obj(old.spec))))
        errs.push({ field: 'spec.persistentVolumeSource', type: 'Forbidden', detail: this.profile.minor >= 10 ? 'spec.persistentVolumeSource is immutable after creation' : 'is immutable after creation' });
    }
    if (errs.length) throw invalid('', 'PersistentVolume', name, errs);
    if (policy === 'Recycle' && this.profile.recycleWarning)
      warnings.push('spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.');
    if (op === 'create') {
      o.status = { phase: 'Pending' };
      if (this.profile.pvProtection) addFinalizer(o, PV_PROTECTION);
    }
  }

  private accessModes(): string[] {
    return this.profile.minor >= 22 ? ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'] : VALID_ACCESS_MODES;
  }

  /** Undecodable quantities fail as the JSON decoder fails: 400 before any validation. */
  private quantities(o: KObject, list: Obj, _path: string): void {
    for (const v of Object.values(list)) if (!isQuantity(v)) throw badRequest(`${o.kind ?? ''} in version "v1" cannot be handled as a ${o.kind ?? ''}: ${QUANTITY_HELP}`);
  }

  private pvc(op: Op, o: KObject, old: KObject | undefined, store: Store): void {
    const spec = child(o, 'spec');
    const name = o.metadata.name ?? '';
    if (this.profile.minor >= 13) setDefault(spec, 'volumeMode', 'Filesystem');
    const requests = obj(obj(spec.resources).requests);
    this.quantities(o, requests, 'spec.resources.requests');
    this.quantities(o, obj(obj(spec.resources).limits), 'spec.resources.limits');
    const errs: FieldErr[] = [];
    if (!arr(spec.accessModes).length) errs.push({ field: 'spec.accessModes', type: 'Required value', detail: 'at least 1 access mode is required' });
    for (const m of arr(spec.accessModes) as unknown as string[])
      if (!this.accessModes().includes(m)) errs.push({ field: 'spec.accessModes', type: 'Unsupported value', value: m, detail: `supported values: ${this.accessModes().map((x) => JSON.stringify(x)).join(', ')}` });
    if (requests.storage === undefined) errs.push({ field: 'spec.resources[storage]', type: 'Required value', detail: '' });
    else if (parseQuantity(String(requests.storage)) <= 0n)
      errs.push({ field: 'spec.resources[storage]', type: 'Invalid value', value: String(requests.storage), detail: 'must be greater than zero' });
    if (op === 'update' && old) {
      const os = obj(old.spec);
      const a = structuredClone(os);
      const b = structuredClone(spec);
      const bound = obj(old.status).phase === 'Bound';
      const expansion = this.profile.minor >= 11;
      // The PV controller fills volumeName when binding and (1.26+) a retroactive default class.
      if (!a.volumeName) delete b.volumeName;
      if (a.storageClassName === undefined && this.profile.retroactiveDefaultClass) delete b.storageClassName;
      if (bound && expansion) {
        delete obj(a.resources).requests;
        delete obj(b.resources).requests;
      }
      if (!isDeepStrictEqual(a, b)) {
        const detail = !expansion
          ? 'field is immutable after creation'
          : this.profile.minor >= 34
            ? 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'
            : this.profile.minor >= 12
              ? 'spec is immutable after creation except resources.requests for bound claims'
              : 'is immutable after creation except resources.requests for bound claims';
        errs.push({ field: 'spec', type: 'Forbidden', detail });
      } else if (bound && expansion && requests.storage !== undefined && obj(obj(os.resources).requests).storage !== undefined) {
        if (parseQuantity(String(requests.storage)) < parseQuantity(String(obj(obj(os.resources).requests).storage)))
          errs.push({ field: 'spec.resources.requests.storage', type: 'Forbidden', detail: 'field can not be less than previous value' });
      }
    }
    if (errs.length) throw invalid('', 'PersistentVolumeClaim', name, errs);
    if (op === 'create') {
      // DefaultStorageClass: only an unset class (nil), never "", and not when the beta annotation names one.
      if (spec.storageClassName === undefined && !o.metadata.annotations?.['volume.beta.kubernetes.io/storage-class']) {
        const sc = defaultStorageClass(store, this.profile);
        if (sc) spec.storageClassName = sc.metadata.name;
      }
      o.status = { phase: 'Pending' };
      if (this.profile.pvcProtection) addFinalizer(o, PVC_PROTECTION);
    }
  }

  // ---- Storage classes ----

  private storageClass(op: Op, o: KObject, old: KObject | undefined): void {
    const name = o.metadata.name ?? '';
    setDefault(o, 'reclaimPolicy', 'Delete');
    if (this.profile.minor >= 12) setDefault(o, 'volumeBindingMode', 'Immediate');
    const errs: FieldErr[] = [];
    if (!o.provisioner) errs.push({ field: 'provisioner', type: 'Required value', detail: '' });
    // storage validation's supportedReclaimPolicy: a class may only Delete or Retain (Recycle is PV-only), since 1.8.
    if (o.reclaimPolicy !== 'Delete' && o.reclaimPolicy !== 'Retain') errs.push({ field: 'reclaimPolicy', type: 'Unsupported value', value: o.reclaimPolicy, detail: 'supported values: "Delete", "Retain"' });
    if (op === 'update' && old) {
      for (const f of ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode'])
        if (!isDeepStrictEqual(o[f], old[f])) errs.push({ field: f, type: 'Forbidden', detail: 'updates to ' + f + ' are forbidden.' });
    }
    if (errs.length) throw invalid('storage.k8s.io', 'StorageClass', name, errs);
  }

  // ---- Workloads ----

  private templateDefaults(spec: Obj): void {
    const tpl = child(spec, 'template');
    const meta = child(tpl, 'metadata');
    setDefault(meta, 'creationTimestamp', null);
    this.podSpecDefaults(child(tpl, 'spec'));
  }

  private deployment(o: KObject): void {
    const spec = child(o, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    const strat = child(spec, 'strategy');
    setDefault(strat, 'type', 'RollingUpdate');
    if (strat.type === 'RollingUpdate') setDefault(strat, 'rollingUpdate', { maxUnavailable: '25%', maxSurge: '25%' });
    this.templateDefaults(spec);
  }

  private statefulSet(op: Op, rt: ResourceType, o: KObject, old: KObject | undefined): void {
    const spec = child(o, 'spec');
    const name = o.metadata.name ?? '';
    const p = this.profile;
    const v1beta1 = rt.version === 'v1beta1';
    const labels = obj(obj(obj(spec.template).metadata).labels) as Record<string, string>;
    if (v1beta1 && !spec.selector && Object.keys(labels).length) spec.selector = { matchLabels: { ...labels } };
    if (v1beta1 && !Object.keys(obj(o.metadata.labels)).length && Object.keys(labels).length) o.metadata.labels = { ...labels };
    setDefault(spec, 'replicas', 1);
    if (p.minor >= 7) {
      setDefault(spec, 'podManagementPolicy', 'OrderedReady');
      const us = child(spec, 'updateStrategy');
      setDefault(us, 'type', v1beta1 ? 'OnDelete' : 'RollingUpdate');
      if (us.type === 'RollingUpdate') setDefault(child(us, 'rollingUpdate'), 'partition', 0);
      setDefault(spec, 'revisionHistoryLimit', 10);
    }
    if (p.pvcRetentionPolicy === 'beta' || p.pvcRetentionPolicy === 'ga') {
      const r = child(spec, 'persistentVolumeClaimRetentionPolicy');
      setDefault(r, 'whenDeleted', 'Retain');
      setDefault(r, 'whenScaled', 'Retain');
    } else if (op === 'create' || !obj(old?.spec).persistentVolumeClaimRetentionPolicy) {
      // Gate off (or absent): the field is dropped on write.
      delete spec.persistentVolumeClaimRetentionPolicy;
    }
    if (!p.ordinals && (op === 'create' || !obj(old?.spec).ordinals)) delete spec.ordinals;
    this.templateDefaults(spec);
    for (const t of arr(spec.volumeClaimTemplates)) {
      const ts = child(t, 'spec');
      if (p.minor >= 13) setDefault(ts, 'volumeMode', 'Filesystem');
      setDefault(t, 'status', { phase: 'Pending' });
      if (t.apiVersion === undefined && p.minor >= 20) {
        t.apiVersion = 'v1';
        t.kind = 'PersistentVolumeClaim';
      }
    }
    const errs: FieldErr[] = [];
    if (!spec.serviceName && !v1beta1 && p.minor < 31) errs.push({ field: 'spec.serviceName', type: 'Required value', detail: '' });
    if (!spec.selector) errs.push({ field: 'spec.selector', type: 'Required value', detail: '' });
    else if (!Object.keys(obj(obj(spec.selector).matchLabels)).length && !arr(obj(spec.selector).matchExpressions).length)
      errs.push({ field: 'spec.selector', type: 'Invalid value', value: spec.selector, detail: "empty selector is invalid for statefulset" });
    else if (!selectorMatches(spec.selector as LabelSelectorObject, labels))
      errs.push({ field: 'spec.template.metadata.labels', type: 'Invalid value', value: labels, detail: '`selector` does not match template `labels`' });
    if (typeof spec.replicas === 'number' && spec.replicas < 0) errs.push({ field: 'spec.replicas', type: 'Invalid value', value: spec.replicas, detail: 'must be greater than or equal to 0' });
    if (obj(obj(spec.template).spec).restartPolicy !== 'Always')
      errs.push({ field: 'spec.template.spec.restartPolicy', type: 'Unsupported value', value: obj(obj(spec.template).spec).restartPolicy, detail: 'supported values: "Always"' });
    // Upstream leaves the template's volumes unchecked because the claim templates add volumes the pods will have
    // (the TODO in ValidatePodTemplateSpecForStatefulSet): check the union, so mounts of claims are valid.
    const tplSpec = obj(obj(spec.template).spec);
    const claimVolumes = arr(spec.volumeClaimTemplates).map((c) => ({ name: obj(obj(c).metadata).name }));
    errs.push(...this.podSpecErrors({ ...tplSpec, volumes: [...arr(tplSpec.volumes), ...claimVolumes] }, 'spec.template.spec'));
    if (op === 'update' && old) {
      const mutable = this.statefulSetMutable();
      const strip = (s: Obj) => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
      if (!isDeepStrictEqual(strip(spec), strip(obj(old.spec)))) errs.push({ field: 'spec', type: 'Forbidden', detail: statefulSetForbidden(p) });
    }
    if (errs.length) throw invalid('apps', 'StatefulSet', name, errs);
  }

  private statefulSetMutable(): string[] {
    const p = this.profile;
    const out = ['replicas'];
    if (p.minor >= 7) out.push('template', 'updateStrategy');
    else out.push('template');
    if (p.minor >= 22) out.push('minReadySeconds');
    if (p.pvcRetentionPolicy !== 'absent') out.push('persistentVolumeClaimRetentionPolicy');
    if (p.ordinals) out.push('ordinals');
    if (p.minor >= 33) out.push('revisionHistoryLimit');
    return out;
  }
}

/** The Forbidden text of ValidateStatefulSetUpdate in the emulated release. */
export function statefulSetForbidden(p: ClusterProfile): string {
  if (p.minor < 7) return "updates to statefulset spec for fields other than 'replicas' and 'containers' are forbidden.";
  if (p.minor < 22) return "updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden";
  if (p.minor < 23) return "updates to statefulset spec for fields other than 'replicas', 'template', 'updateStrategy' and 'minReadySeconds' are forbidden";
  if (!p.ordinals) return "updates to statefulset spec for fields other than 'replicas', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
  if (p.minor < 33) return "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
  return "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
}

function addFinalizer(o: KObject, f: string): void {
  const fs = o.metadata.finalizers ?? [];
  if (!fs.includes(f)) fs.push(f);
  o.metadata.finalizers = fs;
}

/** GetPodQOS: BestEffort without requests/limits, Guaranteed when every container limits cpu and memory at its requests. */
export function qosClass(spec: Obj): 'BestEffort' | 'Burstable' | 'Guaranteed' {
  const cs = [...arr(spec.containers), ...arr(spec.initContainers)];
  let any = false;
  let guaranteed = cs.length > 0;
  for (const c of cs) {
    const req = obj(obj(c.resources).requests);
    const lim = obj(obj(c.resources).limits);
    const keys = (o: Obj) => Object.keys(o).filter((k) => k === 'cpu' || k === 'memory');
    if (keys(req).length || keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function createAdmission(profile: ClusterProfile): EmbeddedAdmission {
  return new EmbeddedAdmission(profile);
}
