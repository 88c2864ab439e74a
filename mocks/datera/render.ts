/**
 * Model -> wire objects. Every embedded object carries a routable `path`; references are objects, never strings;
 * metadata values are strings; utc_ts is a string (what the Go SDK decodes).
 */
import type { AppInstance, AppTemplate, Initiator, InitiatorGroup, Snapshot, StorageInstance, Volume } from './model.js';

export interface RenderContext {
  tenant: string;
  /** Portal IPs (no port), VIP 1 first. */
  ips: string[];
  /** Active initiator names per target IQN (what tgt reports). */
  active: Map<string, string[]>;
  storageNodes: string[];
}

const ref = (path: string, tenant: string) => ({ path, resolved_path: path, resolved_tenant: tenant });

export const aiPath = (ai: AppInstance) => `/app_instances/${ai.name}`;
export const siPath = (ai: AppInstance, si: StorageInstance) => `${aiPath(ai)}/storage_instances/${si.name}`;
export const volPath = (ai: AppInstance, si: StorageInstance, v: Volume) => `${siPath(ai, si)}/volumes/${v.name}`;

export function renderSnapshot(base: string, s: Snapshot) {
  return { path: `${base}/snapshots/${s.utc_ts}`, uuid: s.uuid, utc_ts: s.utc_ts, timestamp: s.utc_ts, op_state: s.op_state, local: true };
}

export function renderVolume(ai: AppInstance, si: StorageInstance, v: Volume, ctx: RenderContext) {
  const path = volPath(ai, si, v);
  const online = si.admin_state === 'online';
  return {
    path,
    name: v.name,
    uuid: v.uuid,
    size: v.size,
    capacity_in_use: 0,
    replica_count: v.replica_count,
    placement_mode: v.placement_mode,
    placement_policy: ref(v.placement_policy, ctx.tenant),
    performance_policy: { path: `${path}/performance_policy`, ...v.performance_policy },
    op_state: 'available',
    availability_state: online ? 'available' : 'unavailable',
    health: 'ok',
    deployment_state: 'deployed',
    active_storage_nodes: online ? ctx.storageNodes.map((n) => ({ path: `/storage_nodes/${n}` })) : [],
    snapshot_policies: [],
    snapshots: v.snapshots.map((s) => renderSnapshot(path, s)),
  };
}

export function renderAcl(ai: AppInstance, si: StorageInstance) {
  return {
    path: `${siPath(ai, si)}/acl_policy`,
    initiators: si.acl_initiators.map((id) => ({ path: `/initiators/${id}` })),
    initiator_groups: si.acl_groups.map((g) => ({ path: `/initiator_groups/${g}` })),
  };
}

export function renderAuth(ai: AppInstance, si: StorageInstance) {
  return {
    path: `${siPath(ai, si)}/auth`,
    type: si.auth.type,
    initiator_user_name: si.auth.initiator_user_name,
    initiator_pswd: '(hidden)',
    target_user_name: si.auth.target_user_name,
    target_pswd: '(hidden)',
  };
}

export function renderStorageInstance(ai: AppInstance, si: StorageInstance, ctx: RenderContext) {
  const path = siPath(ai, si);
  const online = si.admin_state === 'online';
  return {
    path,
    name: si.name,
    uuid: si.uuid,
    admin_state: si.admin_state,
    op_state: online ? 'available' : 'unavailable',
    health: 'ok',
    deployment_state: 'deployed',
    access_control_mode: ai.access_control_mode,
    acl_policy: renderAcl(ai, si),
    ip_pool: ref(`/access_network_ip_pools/${si.ip_pool}`, ctx.tenant),
    access: { path: `${path}/access`, iqn: si.iqn, ips: [...ctx.ips] },
    auth: renderAuth(ai, si),
    active_initiators: ctx.active.get(si.iqn) ?? [],
    active_storage_nodes: online ? ctx.storageNodes.map((n) => ({ path: `/storage_nodes/${n}` })) : [],
    volumes: si.volumes.map((v) => renderVolume(ai, si, v, ctx)),
  };
}

export function renderAppInstance(ai: AppInstance, ctx: RenderContext) {
  return {
    path: aiPath(ai),
    id: ai.name,
    name: ai.name,
    tenant: ctx.tenant,
    uuid: ai.uuid,
    descr: ai.descr,
    create_mode: ai.create_mode,
    admin_state: ai.admin_state,
    health: 'ok',
    deployment_state: 'deployed',
    access_control_mode: ai.access_control_mode,
    app_template: ai.app_template ? ref(`/app_templates/${ai.app_template}`, ctx.tenant) : { path: '', resolved_path: '', resolved_tenant: '' },
    snapshots: [],
    snapshot_policies: [],
    causes: [],
    storage_instances: ai.storage_instances.map((si) => renderStorageInstance(ai, si, ctx)),
  };
}

export function renderInitiator(i: Initiator, tenant: string) {
  return { path: `/initiators/${i.id}`, id: i.id, name: i.name, tenant };
}

export function renderInitiatorGroup(g: InitiatorGroup, tenant: string) {
  return { path: `/initiator_groups/${g.name}`, name: g.name, tenant, members: g.members.map((m) => ({ path: `/initiators/${m}` })) };
}

export function renderTemplate(t: AppTemplate, tenant: string, users: string[]) {
  const path = `/app_templates/${t.name}`;
  return {
    path,
    name: t.name,
    descr: t.descr,
    snapshot_policies: [],
    app_instances: users.map((u) => ({ path: `/app_instances/${u}` })),
    storage_templates: t.storage_templates.map((st) => ({
      path: `${path}/storage_templates/${st.name}`,
      name: st.name,
      ip_pool: ref(`/access_network_ip_pools/${st.ip_pool}`, tenant),
      auth: { type: 'none' },
      volume_templates: st.volume_templates.map((vt) => ({
        path: `${path}/storage_templates/${st.name}/volume_templates/${vt.name}`,
        name: vt.name,
        size: vt.size,
        replica_count: vt.replica_count,
        placement_mode: vt.placement_mode,
        performance_policy: { ...vt.performance_policy },
      })),
    })),
  };
}
