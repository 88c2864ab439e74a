/**
 * OpenAPI (swagger 2.0 style) definitions for every kind the embedded API server serves, generated from the model
 * classes @kubernetes/client-node ships (their static `attributeTypeMap` gives names and types, their .d.ts files
 * which fields are required). Definition names are the real Go ones (`io.k8s.api.core.v1.Pod`) because kubectl looks
 * schemas up by the `x-kubernetes-group-version-kind` extension and reports errors with those names.
 *
 * The models are of one (recent) Kubernetes release, so fields newer than an emulated version are accepted too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ResourceType } from './resources.js';

export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  $ref?: string;
  items?: Schema;
  additionalProperties?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export type Definitions = Record<string, Schema>;

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const REF_PREFIX = '#/definitions/';

/** Definitions that are not model classes: how apimachinery declares them. */
const PRIMITIVES: Definitions = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time' },
  [`${META}.FieldsV1`]: { type: 'object' },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
};

/** Model classes of apimachinery's meta/v1 package (the rest are core/v1 unless claimed by a group below). */
const META_TYPES = new Set([
  'ObjectMeta',
  'ListMeta',
  'LabelSelector',
  'LabelSelectorRequirement',
  'ManagedFieldsEntry',
  'OwnerReference',
  'Status',
  'StatusDetails',
  'StatusCause',
  'DeleteOptions',
  'Preconditions',
  'Condition',
]);

/** Go package of a model class, by its name without the version prefix. */
function packageOf(bare: string): string {
  if (META_TYPES.has(bare)) return META;
  if (/^(StatefulSet|Deployment|ControllerRevision|RollingUpdateStatefulSetStrategy|RollingUpdateDeployment)/.test(bare)) return 'io.k8s.api.apps.v1';
  if (/^StorageClass/.test(bare)) return 'io.k8s.api.storage.v1';
  if (/^Scale(Spec|Status)?$/.test(bare)) return 'io.k8s.api.autoscaling.v1';
  if (bare === 'Eviction') return 'io.k8s.api.policy.v1';
  return 'io.k8s.api.core.v1';
}

/** `V1Pod` / `CoreV1EventSeries` -> `EventSeries`. */
const bareName = (cls: string) => cls.replace(/^(?:[A-Z][a-z]+)?V\d+(?:(?:alpha|beta)\d+)?(?=[A-Z])/, '');

export const definitionName = (cls: string) => `${packageOf(bareName(cls))}.${bareName(cls)}`;

/** Fields of patch-strategy `merge` with their merge keys, as the Go struct tags declare them. */
const PATCH_MERGE: Record<string, string> = {
  'PodSpec.containers': 'name',
  'PodSpec.initContainers': 'name',
  'PodSpec.ephemeralContainers': 'name',
  'PodSpec.volumes': 'name',
  'PodSpec.imagePullSecrets': 'name',
  'PodSpec.hostAliases': 'ip',
  'PodSpec.tolerations': '',
  'PodSpec.topologySpreadConstraints': 'topologyKey',
  'PodSpec.resourceClaims': 'name',
  'PodSpec.schedulingGates': 'name',
  'Container.env': 'name',
  'Container.ports': 'containerPort',
  'Container.volumeMounts': 'mountPath',
  'Container.volumeDevices': 'devicePath',
  'EphemeralContainer.env': 'name',
  'EphemeralContainer.volumeMounts': 'mountPath',
  'EphemeralContainer.volumeDevices': 'devicePath',
  'ObjectMeta.finalizers': '',
  'ObjectMeta.ownerReferences': 'uid',
  'PodStatus.conditions': 'type',
  'NodeStatus.conditions': 'type',
  'NodeStatus.addresses': 'type',
  'NodeSpec.taints': '',
  'ServiceSpec.ports': 'port',
  'ServiceAccount.secrets': 'name',
  'PersistentVolumeClaimStatus.conditions': 'type',
  'NamespaceStatus.conditions': 'type',
  'StatefulSetStatus.conditions': 'type',
  'DeploymentStatus.conditions': 'type',
};

/** Map-of-string fields whose values are Quantities in Go. */
const QUANTITY_MAPS = new Set(['capacity', 'allocatable', 'limits', 'requests', 'hard', 'used', 'allocatedResources']);
const QUANTITY_FIELDS = new Set(['EmptyDirVolumeSource.sizeLimit']);

let modelsDir: string | undefined;
function requiredOf(cls: string): string[] {
  modelsDir ??= join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'models');
  let text: string;
  try {
    text = readFileSync(join(modelsDir, `${cls}.d.ts`), 'utf8');
  } catch {
    return [];
  }
  // A property declared without `?` is required in the Go type's OpenAPI.
  return [...text.matchAll(/^\s+'([^']+)': /gm)].map((m) => m[1]!);
}

const models = k8s as unknown as Record<string, { attributeTypeMap?: Attr[] } | undefined>;

function attributesOf(cls: string): Attr[] | undefined {
  const m = models[cls];
  return m && Array.isArray(m.attributeTypeMap) ? m.attributeTypeMap : undefined;
}

const ref = (name: string): Schema => ({ $ref: REF_PREFIX + name });

/** Builds definitions for `roots` (model class names) and everything they reference. */
export function buildDefinitions(roots: string[]): Definitions {
  const defs: Definitions = {};
  const need = (name: string) => {
    if (PRIMITIVES[name] && !defs[name]) defs[name] = { ...PRIMITIVES[name] };
  };
  const queue = [...roots];
  const typeSchema = (owner: string, a: Attr): Schema => {
    const t = a.type;
    const key = `${bareName(owner)}.${a.baseName}`;
    if (t === 'string') {
      if (QUANTITY_FIELDS.has(key)) {
        need('io.k8s.apimachinery.pkg.api.resource.Quantity');
        return ref('io.k8s.apimachinery.pkg.api.resource.Quantity');
      }
      return a.format ? { type: 'string', format: a.format } : { type: 'string' };
    }
    if (t === 'number') {
      return a.format === 'int32' || a.format === 'int64' ? { type: 'integer', format: a.format } : { type: 'number', format: a.format || 'double' };
    }
    if (t === 'boolean') return { type: 'boolean' };
    if (t === 'Date' || t === 'V1MicroTime') {
      const name = t === 'Date' ? `${META}.Time` : `${META}.MicroTime`;
      need(name);
      return ref(name);
    }
    if (t === 'IntOrString') {
      need('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
      return ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    }
    if (t === 'any' || t === 'object') {
      const name = a.baseName === 'fieldsV1' ? `${META}.FieldsV1` : 'io.k8s.apimachinery.pkg.runtime.RawExtension';
      need(name);
      return ref(name);
    }
    const arr = /^Array<(.+)>$/.exec(t);
    if (arr) return { type: 'array', items: typeSchema(owner, { ...a, type: arr[1]! }) };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
    if (map) {
      if (map[1] === 'string' && QUANTITY_MAPS.has(a.baseName)) {
        need('io.k8s.apimachinery.pkg.api.resource.Quantity');
        return { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') };
      }
      return { type: 'object', additionalProperties: typeSchema(owner, { ...a, type: map[1]! }) };
    }
    if (attributesOf(t)) {
      queue.push(t);
      return ref(definitionName(t));
    }
    // Unknown generator type: accept anything rather than reject valid manifests.
    return {};
  };
  const seen = new Set<string>();
  while (queue.length) {
    const cls = queue.shift()!;
    if (seen.has(cls)) continue;
    seen.add(cls);
    const attrs = attributesOf(cls);
    if (!attrs) throw new Error(`no model class ${cls} in @kubernetes/client-node`);
    const properties: Record<string, Schema> = {};
    for (const a of attrs) {
      const s = typeSchema(cls, a);
      const mergeKey = PATCH_MERGE[`${bareName(cls)}.${a.baseName}`];
      if (mergeKey !== undefined) {
        if (mergeKey) s['x-kubernetes-patch-merge-key'] = mergeKey;
        s['x-kubernetes-patch-strategy'] = 'merge';
      }
      properties[a.baseName] = s;
    }
    const required = requiredOf(cls).filter((r) => properties[r]);
    const d: Schema = { type: 'object', properties };
    if (required.length) d.required = required;
    defs[definitionName(cls)] = d;
  }
  return defs;
}

/** The model class of a kind (`Event` is `CoreV1Event` in client-node). */
export function modelClassOf(kind: string): string {
  if (kind === 'Event') return 'CoreV1Event';
  return `V1${kind}`;
}

/** Go package of a served group version: `apps`/`v1beta1` -> `io.k8s.api.apps.v1beta1`. */
export function packageOfGroupVersion(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${g}.${version}`;
}

export interface SchemaSet {
  definitions: Definitions;
  /** `apps/v1/StatefulSet` (group '' for core) -> definition name. */
  byGVK: Map<string, string>;
}

export const gvkKey = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

/**
 * Definitions for the resource table: one per served kind and group version (old group versions reuse the v1 shape
 * under their own name and GVK), plus the Scale, Eviction, Status and DeleteOptions types the subresources use.
 */
export function schemasFor(resources: readonly ResourceType[]): SchemaSet {
  const kinds = [...new Set(resources.map((r) => r.kind))];
  const definitions = buildDefinitions([...kinds.map(modelClassOf), 'V1Scale', 'V1Eviction', 'V1Status', 'V1DeleteOptions']);
  const byGVK = new Map<string, string>();
  const gvk = (name: string, group: string, version: string, kind: string) => {
    const d = definitions[name]!;
    (d['x-kubernetes-group-version-kind'] ??= []).push({ group, version, kind });
    byGVK.set(gvkKey(group, version, kind), name);
  };
  for (const r of resources) {
    const v1 = definitionName(modelClassOf(r.kind));
    const name = `${packageOfGroupVersion(r.group, r.version)}.${r.kind}`;
    if (name !== v1 && !definitions[name]) {
      const base = definitions[v1]!;
      definitions[name] = { ...base, properties: { ...base.properties } };
      delete definitions[name]['x-kubernetes-group-version-kind'];
    }
    if (!byGVK.has(gvkKey(r.group, r.version, r.kind))) gvk(name, r.group, r.version, r.kind);
  }
  gvk('io.k8s.api.autoscaling.v1.Scale', 'autoscaling', 'v1', 'Scale');
  gvk('io.k8s.api.policy.v1.Eviction', 'policy', 'v1', 'Eviction');
  gvk(`${META}.Status`, '', 'v1', 'Status');
  return { definitions, byGVK };
}

const cache = new Map<string, SchemaSet>();
/** Cached per resource table identity (the profile's version string is a fine key). */
export function cachedSchemas(key: string, resources: readonly ResourceType[]): SchemaSet {
  let s = cache.get(key);
  if (!s) cache.set(key, (s = schemasFor(resources)));
  return s;
}
