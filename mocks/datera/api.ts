/**
 * The Datera REST resources (paths after the /v2.x prefix). Handlers read and change MockState and keep the
 * iSCSI backend in step: an online storage instance is a real target whose ACL is its acl_policy.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { conflict, DateraError, invalid, notFound, validation } from './errors.js';
import type { IscsiBackend } from './iscsi-backend.js';
import {
  emptyQos,
  newTenant,
  QOS_FIELDS,
  type AppInstance,
  type AppTemplate,
  type Auth,
  type MockState,
  type Qos,
  type StorageInstance,
  type Tenant,
  type Volume,
} from './model.js';
import {
  aiPath,
  renderAcl,
  renderAppInstance,
  renderAuth,
  renderInitiator,
  renderInitiatorGroup,
  renderSnapshot,
  renderStorageInstance,
  renderTemplate,
  renderVolume,
  siPath,
  volPath,
  type RenderContext,
} from './render.js';
import {
  AI_NAME,
  INITIATOR_NAME,
  IQN,
  SUB_NAME,
  UUID,
  decodeName,
  isObject,
  oneOf,
  optArray,
  optBool,
  optInt,
  optObject,
  optString,
  own,
  refName,
  reqString,
  type Body,
} from './validate.js';

export interface ApiOptions {
  swVersion: string;
  /** Refuse to take an instance with logged-in initiators offline unless the request says force (real DSP warns). [U] */
  offlineRequiresForce: boolean;
  /** Refuse DELETE of an online app instance unless force is given. [U] */
  deleteRequiresOffline: boolean;
  /** Total capacity reported by /system, bytes. */
  capacityBytes: number;
  storageNodes: string[];
}

export interface ApiRequest {
  method: string;
  segs: string[];
  path: string;
  query: URLSearchParams;
  body: Body;
  tenant: Tenant;
  version: string;
}

/** A handler's answer: enveloped `data` (a list gets paging metadata), or a raw body sent as is. */
export type ApiResult = { data: unknown; list?: boolean } | { raw: unknown };

type Handler = (req: ApiRequest, p: Record<string, string>) => Promise<ApiResult> | ApiResult;
interface Route {
  method: string;
  pattern: string[];
  mutates: boolean;
  handler: Handler;
}

const QOS_MAX: Record<string, number> = {
  total_iops_max: 10_000_000,
  read_iops_max: 10_000_000,
  write_iops_max: 10_000_000,
  total_bandwidth_max: 10_240_000,
  read_bandwidth_max: 10_240_000,
  write_bandwidth_max: 10_240_000,
};

export const newIqn = () => `iqn.2013-05.com.daterainc:tc:01:sn:${randomBytes(8).toString('hex')}`;

export class DateraApi {
  private readonly routes: Route[] = [];
  readonly startedAt = Date.now();

  constructor(
    readonly state: MockState,
    private readonly backend: IscsiBackend,
    private readonly opts: ApiOptions,
  ) {
    this.define();
  }

  /** Find the route for a request: the handler, whether it changes state, and the path parameters. */
  match(method: string, segs: string[]): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
    const allowed: string[] = [];
    for (const route of this.routes) {
      if (route.pattern.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = route.pattern[i]!;
        if (p.startsWith(':')) params[p.slice(1)] = segs[i]!;
        else ok = p === segs[i];
      }
      if (!ok) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    return allowed.length ? { allowed } : undefined;
  }

  /** The route table, for the /api schema document. */
  endpoints(): { method: string; pattern: string[] }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  tenantOf(path: string): Tenant | undefined {
    return this.state.tenants[path];
  }

  async renderContext(tenant: string): Promise<RenderContext> {
    const active = new Map<string, string[]>();
    for (const [iqn, sessions] of await this.backend.sessions()) active.set(iqn, [...new Set(sessions.map((s) => s.initiator))]);
    return { tenant, ips: this.backend.ips(), active, storageNodes: this.opts.storageNodes };
  }

  /** The initiator names allowed on a storage instance: direct entries plus members of listed groups. */
  effectiveAcl(tenant: Tenant, si: StorageInstance): string[] {
    const names = new Set(si.acl_initiators);
    for (const g of si.acl_groups) for (const m of this.group(tenant, g)?.members ?? []) names.add(m);
    return [...names];
  }

  private group(tenant: Tenant, name: string) {
    return own(tenant.initiator_groups, name) ?? own(this.state.tenants['/root']!.initiator_groups, name);
  }

  private initiatorExists(tenant: Tenant, id: string) {
    return Boolean(own(tenant.initiators, id) ?? own(this.state.tenants['/root']!.initiators, id));
  }

  private add(method: string, path: string, handler: Handler, mutates = method !== 'GET') {
    this.routes.push({ method, pattern: path.split('/').filter(Boolean), mutates, handler });
  }

  private ai(req: ApiRequest, key: string): AppInstance {
    const ai = own(req.tenant.app_instances, key) ?? Object.values(req.tenant.app_instances).find((a) => a.uuid === key);
    if (!ai) throw notFound(`/app_instances/${key}`);
    return ai;
  }

  private si(req: ApiRequest, p: Record<string, string>): [AppInstance, StorageInstance] {
    const ai = this.ai(req, p.ai!);
    const si = ai.storage_instances.find((s) => s.name === p.si || s.uuid === p.si);
    if (!si) throw notFound(`${aiPath(ai)}/storage_instances/${p.si}`);
    return [ai, si];
  }

  private vol(req: ApiRequest, p: Record<string, string>): [AppInstance, StorageInstance, Volume] {
    const [ai, si] = this.si(req, p);
    const v = si.volumes.find((x) => x.name === p.vol || x.uuid === p.vol);
    if (!v) throw notFound(`${siPath(ai, si)}/volumes/${p.vol}`);
    return [ai, si, v];
  }

  private async renderAi(req: ApiRequest, ai: AppInstance) {
    return renderAppInstance(ai, await this.renderContext(req.tenant.path));
  }

  private define() {
    const a = this.add.bind(this);

    a('GET', '/system', () => ({ data: this.system() }));
    a('GET', '/system/network/access_vip', () => ({
      data: {
        path: '/system/network/access_vip',
        name: 'access_vip',
        network_paths: this.backend.ips().map((ip, i) => ({ name: `access_vip_${i + 1}`, ip, netmask: 8, vlan: 0, gateway: '', mtu: 1500 })),
      },
    }));
    a('GET', '/storage_nodes', () => ({
      data: this.opts.storageNodes.map((uuid, i) => ({ path: `/storage_nodes/${uuid}`, uuid, name: `mock-node-${i + 1}`, op_state: 'running' })),
      list: true,
    }));
    a('GET', '/access_network_ip_pools', () => ({ data: [this.pool()], list: true }));
    a('GET', '/access_network_ip_pools/:name', (_r, p) => {
      if (p.name !== 'default') throw notFound(`/access_network_ip_pools/${p.name}`);
      return { data: this.pool() };
    });
    a('PUT', '/logs_upload', () => ({ data: { status: 'ok' } }));
    a('PUT', '/logout', () => ({ data: {} }), false);

    // Tenants
    a('GET', '/tenants', () => ({ data: Object.values(this.state.tenants).map((t) => this.renderTenant(t)), list: true }));
    a('GET', '/tenants/:name', (_r, p) => {
      const t = this.state.tenants[p.name === 'root' ? '/root' : `/root/${p.name}`];
      if (!t) throw notFound(`/tenants/${p.name}`);
      return { data: this.renderTenant(t) };
    });
    a('POST', '/tenants', (req) => {
      const name = reqString(req.body, 'name', SUB_NAME, 'letters, digits, _ - . (start with a letter)');
      const path = `/root/${name}`;
      if (this.state.tenants[path]) throw conflict(`tenant ${path} already exists`);
      this.state.tenants[path] = newTenant(path);
      return { data: this.renderTenant(this.state.tenants[path]!) };
    });

    // App instances
    a('GET', '/app_instances', async (req) => {
      const ctx = await this.renderContext(req.tenant.path);
      return { data: Object.values(req.tenant.app_instances).map((ai) => renderAppInstance(ai, ctx)), list: true };
    });
    a('POST', '/app_instances', async (req) => ({ data: await this.renderAi(req, await this.createAi(req)) }));
    a('GET', '/app_instances/:ai', async (req, p) => ({ data: await this.renderAi(req, this.ai(req, p.ai!)) }));
    a('PUT', '/app_instances/:ai', async (req, p) => ({ data: await this.renderAi(req, await this.updateAi(req, this.ai(req, p.ai!))) }));
    a('DELETE', '/app_instances/:ai', async (req, p) => {
      const ai = this.ai(req, p.ai!);
      const rendered = await this.renderAi(req, ai);
      await this.deleteAi(req, ai);
      return { data: rendered };
    });
    a('GET', '/app_instances/:ai/metadata', (req, p) => ({ data: { ...this.ai(req, p.ai!).metadata } }));
    a('PUT', '/app_instances/:ai/metadata', (req, p) => {
      const ai = this.ai(req, p.ai!);
      const next = { ...ai.metadata };
      for (const [k, v] of Object.entries(req.body)) {
        if (typeof v !== 'string') throw validation(`metadata values must be strings; '${k.slice(0, 40)}' is ${v === null ? 'null' : typeof v}`);
        next[k] = v;
      }
      if (JSON.stringify(next).length > 2048) throw validation('metadata is limited to about 2 KB of JSON');
      ai.metadata = next;
      return { data: { ...ai.metadata } };
    });
    a('GET', '/app_instances/:ai/int_ecosystem_data', (req, p) => ({ data: { ...this.ai(req, p.ai!).int_ecosystem_data } }));
    a('PUT', '/app_instances/:ai/int_ecosystem_data', (req, p) => {
      const ai = this.ai(req, p.ai!);
      const data = optObject(req.body, 'data');
      if (!data) throw validation('int_ecosystem_data PUT needs a body {"data": {...}}');
      ai.int_ecosystem_data = { ...ai.int_ecosystem_data, ...data };
      return { data: { ...ai.int_ecosystem_data } };
    });
    a('GET', '/app_instance_int_ecosystem_data', (req) => ({
      data: Object.values(req.tenant.app_instances).map((ai) => ({ name: ai.name, data: ai.int_ecosystem_data })),
      list: true,
    }));
    a('GET', '/app_instances/:ai/snapshots', (req, p) => {
      this.ai(req, p.ai!);
      return { data: [], list: true };
    });

    // Storage instances
    a('GET', '/app_instances/:ai/storage_instances', async (req, p) => {
      const ai = this.ai(req, p.ai!);
      const ctx = await this.renderContext(req.tenant.path);
      return { data: ai.storage_instances.map((si) => renderStorageInstance(ai, si, ctx)), list: true };
    });
    a('GET', '/app_instances/:ai/storage_instances/:si', async (req, p) => {
      const [ai, si] = this.si(req, p);
      return { data: renderStorageInstance(ai, si, await this.renderContext(req.tenant.path)) };
    });
    a('PUT', '/app_instances/:ai/storage_instances/:si', async (req, p) => {
      const [ai, si] = this.si(req, p);
      const pool = optObject(req.body, 'ip_pool');
      if (pool) si.ip_pool = this.poolName(pool);
      const state = oneOf(req.body, 'admin_state', ['online', 'offline'] as const);
      if (state) await this.setSiState(req, si, state, optBool(req.body, 'force') ?? false);
      return { data: renderStorageInstance(ai, si, await this.renderContext(req.tenant.path)) };
    });
    a('GET', '/app_instances/:ai/storage_instances/:si/acl_policy', (req, p) => {
      const [ai, si] = this.si(req, p);
      return { data: renderAcl(ai, si) };
    });
    a('PUT', '/app_instances/:ai/storage_instances/:si/acl_policy', async (req, p) => {
      const [ai, si] = this.si(req, p);
      const inits = optArray(req.body, 'initiators');
      const groups = optArray(req.body, 'initiator_groups');
      if (inits) si.acl_initiators = this.aclList(req, inits, 'initiators');
      if (groups) si.acl_groups = this.aclList(req, groups, 'initiator_groups');
      await this.syncAcl(req.tenant, si);
      return { data: renderAcl(ai, si) };
    });
    for (const kind of ['initiators', 'initiator_groups'] as const) {
      a('PUT', `/app_instances/:ai/storage_instances/:si/acl_policy/${kind}`, async (req, p) => {
        const [ai, si] = this.si(req, p);
        const op = oneOf(req.body, 'op', ['add', 'remove'] as const);
        if (!op) throw validation('op is required: add or remove');
        const [name] = this.aclList(req, [{ path: req.body.path }], kind);
        const list = kind === 'initiators' ? si.acl_initiators : si.acl_groups;
        const at = list.indexOf(name!);
        if (op === 'add') {
          if (at >= 0) throw conflict(`${kind} ${name} is already in the acl_policy of ${siPath(ai, si)}`);
          list.push(name!);
        } else {
          if (at < 0) throw notFound(`${siPath(ai, si)}/acl_policy/${kind}/${name}`);
          list.splice(at, 1);
        }
        await this.syncAcl(req.tenant, si);
        return { data: renderAcl(ai, si) };
      });
    }
    a('GET', '/app_instances/:ai/storage_instances/:si/auth', (req, p) => {
      const [ai, si] = this.si(req, p);
      return { data: renderAuth(ai, si) };
    });
    a('PUT', '/app_instances/:ai/storage_instances/:si/auth', async (req, p) => {
      const [ai, si] = this.si(req, p);
      si.auth = this.parseAuth(req.body);
      if (si.admin_state === 'online') await this.backend.online(si, this.effectiveAcl(req.tenant, si));
      return { data: renderAuth(ai, si) };
    });

    // Volumes
    a('GET', '/app_instances/:ai/storage_instances/:si/volumes', async (req, p) => {
      const [ai, si] = this.si(req, p);
      const ctx = await this.renderContext(req.tenant.path);
      return { data: si.volumes.map((v) => renderVolume(ai, si, v, ctx)), list: true };
    });
    a('GET', '/app_instances/:ai/storage_instances/:si/volumes/:vol', async (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      return { data: renderVolume(ai, si, v, await this.renderContext(req.tenant.path)) };
    });
    a('PUT', '/app_instances/:ai/storage_instances/:si/volumes/:vol', async (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      const size = optInt(req.body, 'size', 1, 32768);
      const replicas = optInt(req.body, 'replica_count', 1, 5);
      const mode = optString(req.body, 'placement_mode');
      if (size !== undefined && size < v.size) throw invalid(`volume size cannot shrink: ${v.size} GiB -> ${size} GiB`);
      if (replicas !== undefined) v.replica_count = replicas;
      if (mode !== undefined) v.placement_mode = mode;
      if (size !== undefined && size !== v.size) {
        v.size = size;
        await this.backend.ensureFile(v.file, size);
        // tgt reads a LUN's size when the LUN is created, so an online target is re-created to show the new size.
        if (si.admin_state === 'online') await this.backend.online(si, this.effectiveAcl(req.tenant, si));
      }
      return { data: renderVolume(ai, si, v, await this.renderContext(req.tenant.path)) };
    });
    const perf = '/app_instances/:ai/storage_instances/:si/volumes/:vol/performance_policy';
    const perfData = (ai: AppInstance, si: StorageInstance, v: Volume) => ({ path: `${volPath(ai, si, v)}/performance_policy`, ...v.performance_policy });
    a('GET', perf, (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      return { data: perfData(ai, si, v) };
    });
    for (const m of ['POST', 'PUT']) {
      a(m, perf, (req, p) => {
        const [ai, si, v] = this.vol(req, p);
        v.performance_policy = { ...(m === 'PUT' ? v.performance_policy : emptyQos()), ...this.parseQos(req.body) };
        return { data: perfData(ai, si, v) };
      });
    }
    a('DELETE', perf, (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      const before = perfData(ai, si, v);
      v.performance_policy = emptyQos();
      return { data: before };
    });

    // Snapshots
    const snaps = '/app_instances/:ai/storage_instances/:si/volumes/:vol/snapshots';
    a('GET', snaps, (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      return { data: v.snapshots.map((s) => renderSnapshot(volPath(ai, si, v), s)), list: true };
    });
    a('POST', snaps, async (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      const uuid = optString(req.body, 'uuid', UUID, 'a UUID') ?? randomUUID();
      if (v.snapshots.some((s) => s.uuid === uuid)) throw invalid(`snapshot with uuid ${uuid} already exists`, 15);
      const utc = this.nextUtcTs(v);
      const snap = { uuid, utc_ts: utc, op_state: 'available' as const, file: `${v.uuid}@${utc}.img` };
      await this.backend.copy(v.file, snap.file);
      v.snapshots.push(snap);
      return { data: renderSnapshot(volPath(ai, si, v), snap) };
    });
    a('GET', `${snaps}/:ts`, (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      const s = v.snapshots.find((x) => x.utc_ts === p.ts || x.uuid === p.ts);
      if (!s) throw notFound(`${volPath(ai, si, v)}/snapshots/${p.ts}`);
      return { data: renderSnapshot(volPath(ai, si, v), s) };
    });
    a('DELETE', `${snaps}/:ts`, async (req, p) => {
      const [ai, si, v] = this.vol(req, p);
      const s = v.snapshots.find((x) => x.utc_ts === p.ts || x.uuid === p.ts);
      if (!s) throw notFound(`${volPath(ai, si, v)}/snapshots/${p.ts}`);
      v.snapshots = v.snapshots.filter((x) => x !== s);
      await this.backend.remove(s.file);
      return { data: renderSnapshot(volPath(ai, si, v), s) };
    });

    // Initiators and groups
    a('GET', '/initiators', (req) => ({ data: Object.values(req.tenant.initiators).map((i) => renderInitiator(i, req.tenant.path)), list: true }));
    a('GET', '/initiators/:id', (req, p) => {
      const i = own(req.tenant.initiators, p.id!);
      if (!i) throw notFound(`/initiators/${p.id}`);
      return { data: renderInitiator(i, req.tenant.path) };
    });
    a('POST', '/initiators', (req) => {
      const id = reqString(req.body, 'id', IQN, 'an iSCSI name (iqn.YYYY-MM.domain[:id]) or eui.<16 hex>');
      if (id.length < 16 || id.length > 223) throw validation(`id must be 16 to 223 characters, got ${id.length}`);
      const name = optString(req.body, 'name', INITIATOR_NAME, '3-128 characters: letters, digits, space _ - .') ?? id.replace(/[^a-zA-Z0-9_\-.]/g, '_');
      const existing = own(req.tenant.initiators, id);
      if (existing && !(optBool(req.body, 'force') ?? false)) throw conflict(`initiator ${id} already exists (pass force=true to update it)`);
      req.tenant.initiators[id] = { id, name };
      return { data: renderInitiator(req.tenant.initiators[id]!, req.tenant.path) };
    });
    a('PUT', '/initiators/:id', (req, p) => {
      const i = own(req.tenant.initiators, p.id!);
      if (!i) throw notFound(`/initiators/${p.id}`);
      i.name = optString(req.body, 'name', INITIATOR_NAME) ?? i.name;
      return { data: renderInitiator(i, req.tenant.path) };
    });
    a('DELETE', '/initiators/:id', (req, p) => {
      const i = own(req.tenant.initiators, p.id!);
      if (!i) throw notFound(`/initiators/${p.id}`);
      const user = this.aclUsers(req.tenant, 'initiators', i.id);
      if (user) throw conflict(`initiator ${i.id} is still in the acl_policy of ${user}; remove it there first`);
      const group = Object.values(req.tenant.initiator_groups).find((g) => g.members.includes(i.id));
      if (group) throw conflict(`initiator ${i.id} is still a member of initiator group ${group.name}; remove it there first`);
      delete req.tenant.initiators[p.id!];
      return { data: renderInitiator(i, req.tenant.path) };
    });
    a('GET', '/initiator_groups', (req) => ({
      data: Object.values(req.tenant.initiator_groups).map((g) => renderInitiatorGroup(g, req.tenant.path)),
      list: true,
    }));
    a('GET', '/initiator_groups/:name', (req, p) => {
      const g = own(req.tenant.initiator_groups, p.name!);
      if (!g) throw notFound(`/initiator_groups/${p.name}`);
      return { data: renderInitiatorGroup(g, req.tenant.path) };
    });
    a('POST', '/initiator_groups', (req) => {
      const name = reqString(req.body, 'name', INITIATOR_NAME, '3-128 characters: letters, digits, space _ - .');
      if (own(req.tenant.initiator_groups, name)) throw conflict(`initiator group ${name} already exists`);
      const members = this.aclList(req, optArray(req.body, 'members') ?? [], 'initiators');
      req.tenant.initiator_groups[name] = { name, members };
      return { data: renderInitiatorGroup(req.tenant.initiator_groups[name]!, req.tenant.path) };
    });
    a('PUT', '/initiator_groups/:name', async (req, p) => {
      const g = own(req.tenant.initiator_groups, p.name!);
      if (!g) throw notFound(`/initiator_groups/${p.name}`);
      const members = optArray(req.body, 'members');
      if (members) g.members = this.aclList(req, members, 'initiators');
      for (const ai of Object.values(req.tenant.app_instances))
        for (const si of ai.storage_instances) if (si.acl_groups.includes(g.name)) await this.syncAcl(req.tenant, si);
      return { data: renderInitiatorGroup(g, req.tenant.path) };
    });
    a('DELETE', '/initiator_groups/:name', (req, p) => {
      const g = own(req.tenant.initiator_groups, p.name!);
      if (!g) throw notFound(`/initiator_groups/${p.name}`);
      const user = this.aclUsers(req.tenant, 'initiator_groups', g.name);
      if (user) throw conflict(`initiator group ${g.name} is still in the acl_policy of ${user}; remove it there first`);
      delete req.tenant.initiator_groups[p.name!];
      return { data: renderInitiatorGroup(g, req.tenant.path) };
    });

    // App templates
    a('GET', '/app_templates', (req) => ({ data: this.templates(req.tenant).map((t) => this.renderTpl(req, t)), list: true }));
    a('GET', '/app_templates/:name', (req, p) => ({ data: this.renderTpl(req, this.template(req.tenant, p.name!)) }));
    a('POST', '/app_templates', (req) => {
      const t = this.parseTemplate(req.body);
      if (own(req.tenant.app_templates, t.name)) throw conflict(`app template ${t.name} already exists`);
      req.tenant.app_templates[t.name] = t;
      return { data: this.renderTpl(req, t) };
    });
    a('DELETE', '/app_templates/:name', (req, p) => {
      const t = own(req.tenant.app_templates, p.name!);
      if (!t) throw notFound(`/app_templates/${p.name}`);
      delete req.tenant.app_templates[p.name!];
      return { data: this.renderTpl(req, t) };
    });
  }

  // ---- app instance lifecycle ----

  private async createAi(req: ApiRequest): Promise<AppInstance> {
    const b = req.body;
    const name = reqString(b, 'name', AI_NAME, 'start with a letter or _, then 2-63 letters, digits, _ - .');
    if (own(req.tenant.app_instances, name)) throw conflict(`app_instance ${name} already exists`);
    const uuid = optString(b, 'uuid', UUID, 'a UUID') ?? '00000000-0000-0000-0000-000000000000';
    const ai: AppInstance = {
      name,
      uuid: uuid === '00000000-0000-0000-0000-000000000000' ? randomUUID() : uuid,
      descr: optString(b, 'descr') ?? '',
      create_mode: optString(b, 'create_mode') ?? 'normal',
      admin_state: 'online',
      app_template: '',
      access_control_mode: oneOf(b, 'access_control_mode', ['deny_all', 'allow_all'] as const) ?? 'deny_all',
      storage_instances: [],
      metadata: {},
      int_ecosystem_data: {},
    };
    const tpl = optObject(b, 'app_template');
    const sis = optArray(b, 'storage_instances');
    const clone = this.cloneSource(req, b);
    if ([tpl, sis, clone].filter(Boolean).length > 1) throw validation('give only one of storage_instances, app_template and a clone source');
    if (sis) ai.storage_instances = sis.map((s, i) => this.parseSi(s, `storage_instances[${i}]`));
    else if (tpl) {
      const t = this.template(req.tenant, refName(tpl, 'app_template', 'app_templates'));
      ai.app_template = t.name;
      ai.storage_instances = this.fromTemplate(t, optObject(b, 'template_override'));
    } else if (clone) {
      ai.storage_instances = clone.sis.map((s) => ({
        ...this.parseSi({ name: s.name, ip_pool: { path: `/access_network_ip_pools/${s.ip_pool}` } }, 'clone'),
        volumes: s.volumes.map((v) => this.newVolume(v.name, v.size, v.replica_count, v.placement_mode, { ...v.performance_policy })),
      }));
    }
    const admin = oneOf(b, 'admin_state', ['online', 'offline'] as const);
    if (admin) ai.admin_state = admin;
    for (const si of ai.storage_instances) si.admin_state = ai.admin_state;
    // Files first, target last: a failure part-way leaves no state behind.
    const made: string[] = [];
    try {
      for (const [si, s] of ai.storage_instances.entries())
        for (const [vi, v] of s.volumes.entries()) {
          const src = clone?.files[si]?.[vi];
          if (src) await this.backend.copy(src, v.file);
          await this.backend.ensureFile(v.file, v.size);
          made.push(v.file);
        }
      req.tenant.app_instances[name] = ai;
      for (const si of ai.storage_instances) if (si.admin_state === 'online') await this.backend.online(si, this.effectiveAcl(req.tenant, si));
    } catch (err) {
      delete req.tenant.app_instances[name];
      for (const si of ai.storage_instances) await this.backend.offline(si.iqn).catch(() => undefined);
      for (const f of made) await this.backend.remove(f);
      throw err;
    }
    return ai;
  }

  private cloneSource(req: ApiRequest, b: Body): { sis: StorageInstance[]; files: string[][] } | undefined {
    for (const field of ['clone_snapshot_src', 'clone_volume_src', 'clone_src'] as const) {
      const src = optObject(b, field);
      if (!src) continue;
      if (typeof src.path !== 'string') throw validation(`${field} must be an object with a string path`);
      const segs = src.path.split('/').filter(Boolean).map((s) => decodeName(s, `${field}.path`));
      if (field === 'clone_src') {
        if (segs.length !== 2 || segs[0] !== 'app_instances') throw validation(`${field}.path must be /app_instances/<name>`);
        const ai = this.ai(req, segs[1]!);
        return { sis: ai.storage_instances, files: ai.storage_instances.map((s) => s.volumes.map((v) => v.file)) };
      }
      const want = field === 'clone_snapshot_src' ? 8 : 6;
      if (segs.length !== want || segs[0] !== 'app_instances' || segs[2] !== 'storage_instances' || segs[4] !== 'volumes')
        throw validation(`${field}.path must be a ${field === 'clone_snapshot_src' ? 'snapshot' : 'volume'} path, got '${src.path.slice(0, 100)}'`);
      const [, si, v] = this.vol(req, { ai: segs[1]!, si: segs[3]!, vol: segs[5]! });
      let file = v.file;
      if (field === 'clone_snapshot_src') {
        const snap = v.snapshots.find((s) => s.utc_ts === segs[7]);
        if (!snap) throw notFound(src.path);
        file = snap.file;
      }
      return { sis: [{ ...si, volumes: [v] }], files: [[file]] };
    }
    return undefined;
  }

  private async updateAi(req: ApiRequest, ai: AppInstance): Promise<AppInstance> {
    const b = req.body;
    const name = optString(b, 'name', AI_NAME);
    if (name !== undefined && name !== ai.name) throw validation('renaming an app_instance is not supported by the mock; create a new one');
    const descr = optString(b, 'descr');
    if (descr !== undefined) ai.descr = descr;
    const state = oneOf(b, 'admin_state', ['online', 'offline'] as const);
    if (state) {
      const force = optBool(b, 'force') ?? false;
      for (const si of ai.storage_instances) await this.setSiState(req, si, state, force);
      ai.admin_state = state;
    }
    return ai;
  }

  private async setSiState(req: ApiRequest, si: StorageInstance, state: 'online' | 'offline', force: boolean) {
    if (state === 'offline' && si.admin_state === 'online' && this.opts.offlineRequiresForce && !force) {
      const sessions = (await this.backend.sessions({ fresh: true })).get(si.iqn) ?? [];
      if (sessions.length)
        throw invalid(`storage instance ${si.name} has logged-in initiators (${sessions.map((s) => s.initiator).join(', ')}); log them out or pass force=true`);
    }
    if (state === 'online') await this.backend.online(si, this.effectiveAcl(req.tenant, si));
    else await this.backend.offline(si.iqn);
    si.admin_state = state;
  }

  private async deleteAi(req: ApiRequest, ai: AppInstance) {
    const force = optBool(req.body, 'force') ?? req.query.get('force') === 'true';
    if (this.opts.deleteRequiresOffline && !force && ai.storage_instances.some((s) => s.admin_state === 'online'))
      throw invalid(`app_instance ${ai.name} is online; PUT admin_state=offline first, or pass force=true`);
    for (const si of ai.storage_instances) await this.backend.offline(si.iqn);
    delete req.tenant.app_instances[ai.name];
    for (const si of ai.storage_instances)
      for (const v of si.volumes) {
        await this.backend.remove(v.file);
        for (const s of v.snapshots) await this.backend.remove(s.file);
      }
  }

  private async syncAcl(tenant: Tenant, si: StorageInstance) {
    if (si.admin_state === 'online') await this.backend.setAcl(si.iqn, this.effectiveAcl(tenant, si));
  }

  // ---- parsing ----

  private parseSi(raw: unknown, where: string): StorageInstance {
    if (!isObject(raw)) throw validation(`${where} must be an object`);
    const name = optString(raw, 'name', SUB_NAME, 'letters, digits, _ - .') ?? 'storage-1';
    const pool = optObject(raw, 'ip_pool');
    const auth = optObject(raw, 'auth');
    const vols = optArray(raw, 'volumes') ?? [];
    const si: StorageInstance = {
      name,
      uuid: randomUUID(),
      admin_state: 'online',
      iqn: newIqn(),
      ip_pool: pool ? this.poolName(pool) : 'default',
      acl_initiators: [],
      acl_groups: [],
      auth: auth ? this.parseAuth(auth) : this.parseAuth({ type: 'none' }),
      volumes: vols.map((v, i) => this.parseVolume(v, `${where}.volumes[${i}]`)),
    };
    const acl = optObject(raw, 'acl_policy');
    if (acl) {
      si.acl_initiators = (optArray(acl, 'initiators') ?? []).map((x, i) => refName(x, `${where}.acl_policy.initiators[${i}]`, 'initiators'));
      si.acl_groups = (optArray(acl, 'initiator_groups') ?? []).map((x, i) => refName(x, `${where}.acl_policy.initiator_groups[${i}]`, 'initiator_groups'));
    }
    if (new Set(si.volumes.map((v) => v.name)).size !== si.volumes.length) throw validation(`${where}: volume names must be unique`);
    return si;
  }

  private parseVolume(raw: unknown, where: string): Volume {
    if (!isObject(raw)) throw validation(`${where} must be an object`);
    const size = optInt(raw, 'size', 1, 32768);
    if (size === undefined) throw validation(`${where}.size is required (GiB, 1 to 32768)`);
    const pp = optObject(raw, 'placement_policy');
    const qos = optObject(raw, 'performance_policy');
    const v = this.newVolume(
      optString(raw, 'name', SUB_NAME) ?? 'volume-1',
      size,
      optInt(raw, 'replica_count', 1, 5) ?? 3,
      optString(raw, 'placement_mode') ?? 'hybrid',
      { ...emptyQos(), ...(qos ? this.parseQos(qos) : {}) },
    );
    if (pp) v.placement_policy = `/placement_policies/${refName(pp, `${where}.placement_policy`, 'placement_policies')}`;
    return v;
  }

  private newVolume(name: string, size: number, replicas: number, mode: string, qos: Qos): Volume {
    const uuid = randomUUID();
    return {
      name,
      uuid,
      size,
      replica_count: replicas,
      placement_mode: mode,
      placement_policy: '/placement_policies/default',
      performance_policy: qos,
      snapshots: [],
      file: `${uuid}.img`,
    };
  }

  private parseQos(b: Body): Partial<Qos> {
    const out: Partial<Qos> = {};
    for (const f of QOS_FIELDS) {
      const v = optInt(b, f, 0, QOS_MAX[f]!);
      if (v !== undefined) out[f] = v;
    }
    return out;
  }

  private parseAuth(b: Body): Auth {
    const type = oneOf(b, 'type', ['none', 'chap', 'mchap'] as const) ?? 'none';
    const chapPw = /^.{12,16}$/;
    const auth: Auth = {
      type,
      target_user_name: optString(b, 'target_user_name') ?? '',
      target_pswd: optString(b, 'target_pswd') ?? '',
      initiator_user_name: optString(b, 'initiator_user_name') ?? '',
      initiator_pswd: optString(b, 'initiator_pswd') ?? '',
    };
    if (type !== 'none') {
      if (!auth.target_user_name || !chapPw.test(auth.target_pswd)) throw validation('chap needs target_user_name and a target_pswd of 12 to 16 characters');
      if (type === 'mchap' && (!auth.initiator_user_name || !chapPw.test(auth.initiator_pswd)))
        throw validation('mchap needs initiator_user_name and an initiator_pswd of 12 to 16 characters');
    }
    return auth;
  }

  private poolName(pool: Body): string {
    const name = refName(pool, 'ip_pool', 'access_network_ip_pools');
    if (name !== 'default') throw notFound(`/access_network_ip_pools/${name}`);
    return name;
  }

  /** Turn `[{path: "/initiators/<iqn>"}]` into names, checking each exists; duplicates collapse (CSI re-adds). */
  private aclList(req: ApiRequest, raw: unknown[], kind: 'initiators' | 'initiator_groups'): string[] {
    const names = raw.map((x, i) => refName(x, `${kind}[${i}]`, kind));
    for (const n of names) {
      const ok = kind === 'initiators' ? this.initiatorExists(req.tenant, n) : Boolean(this.group(req.tenant, n));
      if (!ok) throw notFound(`/${kind}/${n}`);
    }
    return [...new Set(names)];
  }

  private aclUsers(tenant: Tenant, kind: 'initiators' | 'initiator_groups', name: string): string | undefined {
    for (const ai of Object.values(tenant.app_instances))
      for (const si of ai.storage_instances) if ((kind === 'initiators' ? si.acl_initiators : si.acl_groups).includes(name)) return siPath(ai, si);
    return undefined;
  }

  private templates(tenant: Tenant): AppTemplate[] {
    const root = this.state.tenants['/root']!.app_templates;
    return Object.values({ ...root, ...tenant.app_templates });
  }

  private template(tenant: Tenant, name: string): AppTemplate {
    const t = own(tenant.app_templates, name) ?? own(this.state.tenants['/root']!.app_templates, name);
    if (!t) throw notFound(`/app_templates/${name}`);
    return t;
  }

  private renderTpl(req: ApiRequest, t: AppTemplate) {
    const users = Object.values(req.tenant.app_instances)
      .filter((ai) => ai.app_template === t.name)
      .map((ai) => ai.name);
    return renderTemplate(t, req.tenant.path, users);
  }

  private parseTemplate(b: Body): AppTemplate {
    const name = reqString(b, 'name', AI_NAME, 'start with a letter or _, then 2-63 letters, digits, _ - .');
    const sts = optArray(b, 'storage_templates') ?? [];
    if (!sts.length) throw validation('storage_templates must list at least one storage template');
    return {
      name,
      descr: optString(b, 'descr') ?? '',
      storage_templates: sts.map((st, i) => {
        if (!isObject(st)) throw validation(`storage_templates[${i}] must be an object`);
        const vts = optArray(st, 'volume_templates') ?? [];
        if (!vts.length) throw validation(`storage_templates[${i}].volume_templates must list at least one volume template`);
        const pool = optObject(st, 'ip_pool');
        return {
          name: optString(st, 'name', SUB_NAME) ?? 'storage-1',
          ip_pool: pool ? this.poolName(pool) : 'default',
          volume_templates: vts.map((vt, j) => {
            const v = this.parseVolume(vt, `storage_templates[${i}].volume_templates[${j}]`);
            return { name: v.name, size: v.size, replica_count: v.replica_count, placement_mode: v.placement_mode, performance_policy: v.performance_policy };
          }),
        };
      }),
    };
  }

  private fromTemplate(t: AppTemplate, override: Body | undefined): StorageInstance[] {
    const sisOv = override ? optObject(override, 'storage_instances') : undefined;
    return t.storage_templates.map((st) => {
      const siOv = sisOv ? optObject(sisOv, st.name) : undefined;
      const volsOv = siOv ? optObject(siOv, 'volumes') : undefined;
      const si = this.parseSi({ name: st.name, ip_pool: { path: `/access_network_ip_pools/${st.ip_pool}` } }, `app_template ${t.name}`);
      si.volumes = st.volume_templates.map((vt) => {
        const ov = volsOv ? (optObject(volsOv, vt.name) ?? {}) : {};
        const qos = optObject(ov, 'performance_policy');
        return this.newVolume(
          vt.name,
          optInt(ov, 'size', 1, 32768) ?? vt.size,
          optInt(ov, 'replica_count', 1, 5) ?? vt.replica_count,
          optString(ov, 'placement_mode') ?? vt.placement_mode,
          { ...vt.performance_policy, ...(qos ? this.parseQos(qos) : {}) },
        );
      });
      return si;
    });
  }

  private nextUtcTs(v: Volume): string {
    let ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const taken = new Set(v.snapshots.map((s) => s.utc_ts));
    const fmt = (n: bigint) => `${n / 1_000_000_000n}.${String(n % 1_000_000_000n).padStart(9, '0')}`;
    while (taken.has(fmt(ns))) ns += 1n;
    return fmt(ns);
  }

  // ---- side objects ----

  system() {
    const provisioned = Object.values(this.state.tenants)
      .flatMap((t) => Object.values(t.app_instances))
      .flatMap((ai) => ai.storage_instances.flatMap((s) => s.volumes))
      .reduce((n, v) => n + v.size * 2 ** 30 * v.replica_count, 0);
    const total = this.opts.capacityBytes;
    return {
      path: '/system',
      name: 'datera-mock',
      uuid: this.state.systemUuid,
      sw_version: this.opts.swVersion,
      build_version: `mock-${this.opts.swVersion}`,
      op_state: 'running',
      health: 'ok',
      timezone: 'UTC',
      callhome_enabled: false,
      compression_enabled: false,
      compression_ratio: '1.0',
      l3_enabled: false,
      uptime: Math.floor((Date.now() - this.startedAt) / 1000),
      total_capacity: total,
      available_capacity: Math.max(0, total - provisioned),
      total_provisioned_capacity: provisioned,
      all_flash_total_capacity: 0,
      all_flash_available_capacity: 0,
      all_flash_provisioned_capacity: 0,
      hybrid_total_capacity: total,
      hybrid_available_capacity: Math.max(0, total - provisioned),
      hybrid_provisioned_capacity: provisioned,
    };
  }

  private pool() {
    return {
      path: '/access_network_ip_pools/default',
      name: 'default',
      descr: 'mock default pool: one block per access network (VIP 1, VIP 2)',
      network_paths: this.backend.ips().map((ip, i) => ({
        path: `/access_network_ip_pools/default/network_paths/access_vip_${i + 1}`,
        name: `access_vip_${i + 1}`,
        start_ip: ip,
        netmask: 24,
        range: 6,
        vlan: 0,
        mtu: 1500,
        gateway: '',
      })),
    };
  }

  private renderTenant(t: Tenant) {
    return { path: `/tenants/${t.name}`, name: t.name, parent_path: t.path === '/root' ? '' : '/tenants/root', descr: '' };
  }
}

export function assertKnownTenant(api: DateraApi, header: string | undefined): Tenant {
  const raw = (header ?? '').trim();
  const path = raw === '' ? '/root' : raw.startsWith('/') ? raw : `/root/${raw}`;
  const t = api.tenantOf(path);
  if (!t) throw new DateraError('NotFoundError', `Tenant ${path} does not exist (create it with POST /tenants, or send tenant: /root)`);
  return t;
}
