/**
 * Strategic-merge-patch metadata of the built-in kinds: the `patchStrategy:"merge" patchMergeKey:"..."` struct tags of
 * k8s.io/api core/v1, apps/v1, batch/v1, policy/v1, autoscaling/v2 and storage/v1 as a tree keyed by JSON field name.
 * A field without an entry merges recursively when it is an object and is replaced atomically when it is a list
 * (tolerations, taints, accessModes, volumeClaimTemplates, containerStatuses, Endpoints subsets, ...).
 * `retainKeys` strategies need no entry: the apply side honours a `$retainKeys` directive wherever the patch has one.
 */

export interface FieldMeta {
  /** 'merge': lists merge by `key` (primitive lists: set union); 'replace': maps are replaced, not merged. */
  strategy?: 'merge' | 'replace';
  /** patchMergeKey of a list of objects. */
  key?: string;
  /** Metadata of the field's value (an object) or of each element (a list). */
  schema?: Schema;
}

export type Schema = Readonly<Record<string, FieldMeta>>;

const merge = (key?: string, schema?: Schema): FieldMeta => ({ strategy: 'merge', ...(key ? { key } : {}), ...(schema ? { schema } : {}) });
const nested = (schema: Schema): FieldMeta => ({ schema });

const objectMeta: Schema = { finalizers: merge(), ownerReferences: merge('uid') };
const conditions: Schema = { conditions: merge('type') };

const container: Schema = {
  ports: merge('containerPort'),
  env: merge('name'),
  volumeMounts: merge('mountPath'),
  volumeDevices: merge('devicePath'),
};

const podSpec: Schema = {
  volumes: merge('name'), // merge,retainKeys
  initContainers: merge('name', container),
  containers: merge('name', container),
  ephemeralContainers: merge('name', container),
  imagePullSecrets: merge('name'),
  hostAliases: merge('ip'),
  topologySpreadConstraints: merge('topologyKey'),
  schedulingGates: merge('name'),
  resourceClaims: merge('name'), // merge,retainKeys
};

const podStatus: Schema = {
  conditions: merge('type'),
  podIPs: merge('ip'),
  hostIPs: merge('ip'),
  resourceClaimStatuses: merge('name'), // merge,retainKeys
};

const podTemplateSpec: Schema = { metadata: nested(objectMeta), spec: nested(podSpec) };

/** Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job: a pod template and status conditions. */
const workload: Schema = { metadata: nested(objectMeta), spec: nested({ template: nested(podTemplateSpec) }), status: nested(conditions) };

const withStatusConditions: Schema = { metadata: nested(objectMeta), status: nested(conditions) };

export const KIND_SCHEMAS: Readonly<Record<string, Schema>> = {
  Pod: { metadata: nested(objectMeta), spec: nested(podSpec), status: nested(podStatus) },
  PodTemplate: { metadata: nested(objectMeta), template: nested(podTemplateSpec) },
  ReplicationController: workload,
  Deployment: workload,
  ReplicaSet: workload,
  StatefulSet: workload,
  DaemonSet: workload,
  Job: workload,
  CronJob: {
    metadata: nested(objectMeta),
    spec: nested({ jobTemplate: nested({ metadata: nested(objectMeta), spec: nested({ template: nested(podTemplateSpec) }) }) }),
  },
  Service: { metadata: nested(objectMeta), spec: nested({ ports: merge('port') }), status: nested(conditions) },
  Node: {
    metadata: nested(objectMeta),
    spec: nested({ podCIDRs: merge() }),
    status: nested({ conditions: merge('type'), addresses: merge('type') }),
  },
  Namespace: withStatusConditions,
  PersistentVolumeClaim: withStatusConditions,
  PodDisruptionBudget: withStatusConditions,
  HorizontalPodAutoscaler: withStatusConditions,
  ServiceAccount: { metadata: nested(objectMeta), secrets: merge('name') },
  ComponentStatus: { metadata: nested(objectMeta), conditions: merge('type') },
  CSINode: { metadata: nested(objectMeta), spec: nested({ drivers: merge('name') }) },
};

/** Every other kind (ConfigMap, Secret, PersistentVolume, Endpoints, Event, StorageClass, Scale, ...): object meta only. */
export const DEFAULT_SCHEMA: Schema = { metadata: nested(objectMeta) };

/** True when `kind` is a built-in kind with its own table entry (everything else gets DEFAULT_SCHEMA). */
export const hasStrategicSchema = (kind: string): boolean => Object.hasOwn(KIND_SCHEMAS, kind);

export const schemaFor = (kind: string): Schema => (hasStrategicSchema(kind) ? KIND_SCHEMAS[kind]! : DEFAULT_SCHEMA);
