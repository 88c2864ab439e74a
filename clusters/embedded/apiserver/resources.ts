/**
 * The resource types the embedded API server serves: names, scope, verbs, short names and categories as a real
 * kube-apiserver of the emulated version reports them in discovery. One storage key per resource, shared by every
 * group version that serves it (apps/v1 and apps/v1beta1 StatefulSets are the same objects).
 */
import type { ClusterProfile } from '../profiles.js';

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Subresources served: status, scale, exec, attach, log, binding, finalize, eviction. */
  subresources: string[];
  /** Where the objects live: `<group or core>/<plural>`. */
  storageKey: string;
}

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_COLLECTION = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

type Def = Omit<ResourceType, 'version' | 'storageKey' | 'verbs' | 'subresources'> & { verbs?: string[]; subresources?: string[] };

function def(d: Def, version: string): ResourceType {
  return { verbs: ALL, subresources: [], ...d, version, storageKey: `${d.group || 'core'}/${d.plural}` };
}

const core: Def[] = [
  { group: '', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], verbs: NO_COLLECTION, subresources: ['status', 'finalize'] },
  { group: '', kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], subresources: ['status'] },
  { group: '', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'exec', 'attach', 'log', 'binding', 'eviction'] },
  { group: '', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], verbs: NO_COLLECTION, subresources: ['status'] },
  { group: '', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'] },
  { group: '', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] },
  { group: '', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true },
  { group: '', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] },
  { group: '', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'] },
  { group: '', kind: 'PersistentVolume', plural: 'persistentvolumes', singular: 'persistentvolume', namespaced: false, shortNames: ['pv'], subresources: ['status'] },
  { group: '', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'], subresources: ['status'] },
];

const apps: Def[] = [
  { group: 'apps', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] },
  { group: 'apps', kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true },
  { group: 'apps', kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] },
];

const storage: Def[] = [{ group: 'storage.k8s.io', kind: 'StorageClass', plural: 'storageclasses', singular: 'storageclass', namespaced: false, shortNames: ['sc'] }];

/** Every resource type served by this profile, preferred group version first within a group. */
export function resourcesFor(p: ClusterProfile): ResourceType[] {
  const out: ResourceType[] = core.map((d) => def(d, 'v1'));
  for (const v of p.statefulSetVersions) {
    for (const d of apps) {
      // ControllerRevision arrived with apps/v1beta1 in 1.7; Deployment moved to apps in 1.6 (v1beta1).
      if (d.kind === 'ControllerRevision' && p.minor < 7) continue;
      out.push(def(d, v));
    }
  }
  for (const v of p.storageClassVersions) for (const d of storage) out.push(def(d, v));
  return out;
}

/** Groups in discovery order, each with its versions (preferred first). */
export function groupsOf(resources: readonly ResourceType[]): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const r of resources) {
    if (r.group === '') continue;
    let g = out.find((x) => x.group === r.group);
    if (!g) out.push((g = { group: r.group, versions: [] }));
    if (!g.versions.includes(r.version)) g.versions.push(r.version);
  }
  return out;
}

export const apiVersionOf = (r: Pick<ResourceType, 'group' | 'version'>) => (r.group ? `${r.group}/${r.version}` : r.version);
