/** The mock's state: plain data, serialisable to the state directory as JSON. */

export const QOS_FIELDS = [
  'total_iops_max',
  'read_iops_max',
  'write_iops_max',
  'total_bandwidth_max',
  'read_bandwidth_max',
  'write_bandwidth_max',
] as const;
export type QosField = (typeof QOS_FIELDS)[number];
export type Qos = Record<QosField, number>;

export interface Snapshot {
  uuid: string;
  utc_ts: string;
  op_state: 'available' | 'unavailable';
  /** Backing file name (under the volumes dir) holding the point-in-time copy. */
  file: string;
}

export interface Volume {
  name: string;
  uuid: string;
  size: number;
  replica_count: number;
  placement_mode: string;
  placement_policy: string;
  performance_policy: Qos;
  snapshots: Snapshot[];
  /** Backing file name under the volumes dir. */
  file: string;
}

export interface Auth {
  type: 'none' | 'chap' | 'mchap';
  target_user_name: string;
  target_pswd: string;
  initiator_user_name: string;
  initiator_pswd: string;
}

export interface StorageInstance {
  name: string;
  uuid: string;
  admin_state: 'online' | 'offline';
  iqn: string;
  ip_pool: string;
  acl_initiators: string[];
  acl_groups: string[];
  auth: Auth;
  volumes: Volume[];
}

export interface AppInstance {
  name: string;
  uuid: string;
  descr: string;
  create_mode: string;
  admin_state: 'online' | 'offline';
  app_template: string;
  access_control_mode: string;
  storage_instances: StorageInstance[];
  metadata: Record<string, string>;
  int_ecosystem_data: Record<string, unknown>;
}

export interface Initiator {
  id: string;
  name: string;
}

export interface InitiatorGroup {
  name: string;
  members: string[];
}

export interface VolumeTemplate {
  name: string;
  size: number;
  replica_count: number;
  placement_mode: string;
  performance_policy: Qos;
}

export interface StorageTemplate {
  name: string;
  ip_pool: string;
  volume_templates: VolumeTemplate[];
}

export interface AppTemplate {
  name: string;
  descr: string;
  storage_templates: StorageTemplate[];
}

export interface Tenant {
  name: string;
  path: string;
  app_instances: Record<string, AppInstance>;
  initiators: Record<string, Initiator>;
  initiator_groups: Record<string, InitiatorGroup>;
  app_templates: Record<string, AppTemplate>;
}

export interface MockState {
  formatVersion: 1;
  systemUuid: string;
  tenants: Record<string, Tenant>;
}

export const emptyQos = (): Qos => ({
  total_iops_max: 0,
  read_iops_max: 0,
  write_iops_max: 0,
  total_bandwidth_max: 0,
  read_bandwidth_max: 0,
  write_bandwidth_max: 0,
});

export function newTenant(path: string): Tenant {
  return {
    name: path === '/root' ? 'root' : path.split('/').pop()!,
    path,
    app_instances: {},
    initiators: {},
    initiator_groups: {},
    app_templates: {},
  };
}

/** Templates seeded in /root so template-based PVs and StorageClasses have something to name. */
export function seedTemplates(): Record<string, AppTemplate> {
  const t = (name: string, size: number, replicas: number, iops: number): AppTemplate => ({
    name,
    descr: `mock template: ${size} GiB, ${replicas} replicas`,
    storage_templates: [
      {
        name: 'storage-1',
        ip_pool: 'default',
        volume_templates: [
          { name: 'volume-1', size, replica_count: replicas, placement_mode: 'hybrid', performance_policy: { ...emptyQos(), total_iops_max: iops } },
        ],
      },
    ],
  });
  return { basic: t('basic', 1, 3, 0), small: t('small', 1, 2, 1000), mysql: t('mysql', 2, 3, 5000) };
}
