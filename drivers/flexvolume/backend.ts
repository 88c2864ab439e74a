/**
 * The Datera side of attach and detach, through the SDK-like client: find or create the app_instance, register
 * this node's initiator, keep it in the storage instance's ACL, bring it online and wait for its portals.
 * API failures become errors that name the cause and the fix (bad credentials, unreachable server, unknown template).
 */
import { DateraApiError, DateraClient, DateraConnectionError } from '../datera/client.js';
import { HarnessError } from '../../lib/errors.js';
import { sleep } from '../../lib/wait.js';

export interface Credentials {
  server: string;
  user: string;
  password: string;
  /** Where they came from, named in error messages. */
  source: string;
}

/** What creating a missing app_instance needs (from the PV options). */
export interface CreateSpec {
  aiName: string;
  size?: number;
  replica: number;
  template?: string;
  maxIops?: number;
  maxBW?: number;
  ipPool: string;
  placementMode: string;
  volumeSource?: string;
}

interface Ref {
  path: string;
}
export interface StorageInstance {
  path: string;
  acl_policy: { path: string; initiators: Ref[]; initiator_groups: Ref[] };
  access: { iqn?: string; ips?: string[] };
  volumes: { uuid: string; path: string }[];
}
export interface AppInstance {
  path: string;
  name: string;
  admin_state: string;
  storage_instances: StorageInstance[];
}

export interface Access {
  iqn: string;
  ips: string[];
  volumeUuid: string;
}

export class Backend {
  private readonly client: DateraClient;

  constructor(
    readonly creds: Credentials,
    readonly tenant: string,
    retryBudgetMs = 10_000,
  ) {
    this.client = new DateraClient({ server: creds.server, user: creds.user, password: creds.password, tenant, retryBudgetMs, timeoutMs: 30_000, driverHeader: 'datera-flexvolume-reference' });
  }

  /** Run one API step, turning client errors into messages that say what to fix. */
  private async api<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.explain(what, err);
    }
  }

  explain(what: string, err: unknown): Error {
    const c = this.creds;
    if (err instanceof DateraApiError && (err.dateraName === 'AuthFailedError' || err.status === 401))
      return new HarnessError(
        'BAD_CONFIG',
        `the Datera API refused the credentials for user ${c.user} at server ${c.server} (${err.body.message ?? 'AuthFailedError'}); check the ${c.source}: username, password and server must match a Datera account`,
        { cause: err },
      );
    if (err instanceof DateraConnectionError)
      return new HarnessError('BAD_CONFIG', `cannot reach the Datera API at server ${c.server} (${err.message}); check the server value in the ${c.source} and that this node can reach the management network`, {
        cause: err,
      });
    if (err instanceof DateraApiError && err.status === 404 && /tenant \S+ does not exist/i.test(String(err.body.message ?? '')))
      return new HarnessError('BAD_CONFIG', `${what}: tenant ${this.tenant} does not exist on ${c.server}; create it (POST /tenants) or fix the tenant option`, { cause: err });
    if (err instanceof DateraApiError) return new HarnessError('COMMAND_FAILED', `${what} failed at ${c.server}: ${err.message}`, { cause: err });
    return err instanceof Error ? err : new Error(String(err));
  }

  async getAi(name: string): Promise<AppInstance | undefined> {
    return this.api(`looking up app_instance ${name}`, () => this.client.find<AppInstance>(`/app_instances/${encodeURIComponent(name)}`));
  }

  /** The app_instance, created from the spec when it does not exist yet. */
  async ensureVolume(s: CreateSpec): Promise<AppInstance> {
    const found = await this.getAi(s.aiName);
    if (found) return found;
    let body: Record<string, unknown>;
    if (s.volumeSource) {
      const src = s.volumeSource.startsWith('/') ? s.volumeSource : `/app_instances/${s.volumeSource}`;
      const field = /\/snapshots\//.test(src) ? 'clone_snapshot_src' : /\/volumes\//.test(src) ? 'clone_volume_src' : 'clone_src';
      body = { name: s.aiName, create_mode: 'kubernetes', [field]: { path: src } };
    } else if (s.template) {
      const tpl = s.template;
      const known = await this.api(`looking up app_template ${tpl}`, () => this.client.find(`/app_templates/${encodeURIComponent(tpl)}`));
      if (!known) throw new HarnessError('BAD_CONFIG', `app template ${tpl} does not exist on ${this.creds.server} (tenant ${this.tenant}); create it or fix the template option`);
      body = { name: s.aiName, create_mode: 'kubernetes', app_template: { path: `/app_templates/${tpl}` } };
    } else {
      if (s.size === undefined) throw new HarnessError('BAD_INPUT', `volume ${s.aiName} does not exist and the options give no size; set size (GiB), template or volumeSource`);
      const perf: Record<string, number> = {};
      if (s.maxIops) perf.total_iops_max = s.maxIops;
      if (s.maxBW) perf.total_bandwidth_max = s.maxBW;
      body = {
        name: s.aiName,
        create_mode: 'kubernetes',
        storage_instances: [
          {
            name: 'storage-1',
            ip_pool: { path: `/access_network_ip_pools/${s.ipPool}` },
            auth: { type: 'none' },
            volumes: [{ name: 'volume-1', size: s.size, replica_count: s.replica, placement_mode: s.placementMode, performance_policy: perf }],
          },
        ],
      };
    }
    try {
      return (await this.client.post<AppInstance>('/app_instances', body)).data;
    } catch (err) {
      // Another node (or a retried call) created it meanwhile.
      if (err instanceof DateraApiError && err.status === 409) {
        const again = await this.getAi(s.aiName);
        if (again) return again;
      }
      if (err instanceof DateraApiError && err.status === 404 && s.volumeSource)
        throw new HarnessError('BAD_CONFIG', `cannot clone volume ${s.aiName}: volumeSource ${s.volumeSource} does not exist (${err.message}); fix volumeSource`, { cause: err });
      throw this.explain(`creating app_instance ${s.aiName}`, err);
    }
  }

  /** Register the initiator (POST with force when GET says 404), named after the Kubernetes node. */
  async ensureInitiator(iqn: string, node: string): Promise<void> {
    const found = await this.api(`looking up initiator ${iqn}`, () => this.client.find(`/initiators/${encodeURIComponent(iqn)}`));
    if (found) return;
    const name = `k8s-${node}`.replace(/[^a-zA-Z0-9_\-.]/g, '_').slice(0, 128);
    await this.api(`registering initiator ${iqn}`, () => this.client.post('/initiators', { id: iqn, name, force: true }));
  }

  /** Initiator names (the `name` field) of every initiator in the first storage instance's ACL. */
  async aclNames(ai: AppInstance): Promise<{ iqn: string; name?: string }[]> {
    const si = ai.storage_instances[0]!;
    const out: { iqn: string; name?: string }[] = [];
    for (const r of si.acl_policy.initiators) {
      const iqn = r.path.replace(/^.*\/initiators\//, '');
      const i = await this.api(`looking up initiator ${iqn}`, () => this.client.find<{ name?: string }>(r.path));
      out.push({ iqn, name: i?.name });
    }
    return out;
  }

  private async putAcl(ai: AppInstance, edit: (paths: string[]) => string[]): Promise<string[]> {
    const si = ai.storage_instances[0]!;
    const acl = (await this.api(`reading the ACL of ${ai.name}`, () => this.client.get<StorageInstance['acl_policy']>(si.acl_policy.path))).data;
    const before = [...new Set(acl.initiators.map((r) => r.path))];
    const after = [...new Set(edit(before))];
    if (after.length !== before.length || after.some((p, i) => p !== before[i])) {
      // Entries go back as {path} only, initiator groups untouched (the CSI driver learned to drop `tenant` keys).
      const groups = acl.initiator_groups.map((g) => ({ path: g.path }));
      await this.api(`updating the ACL of ${ai.name}`, () => this.client.put(si.acl_policy.path, { initiators: after.map((path) => ({ path })), initiator_groups: groups }));
    }
    return after;
  }

  async aclAdd(ai: AppInstance, iqn: string): Promise<void> {
    await this.putAcl(ai, (p) => [...p, `/initiators/${iqn}`]);
  }

  /** Remove the initiators; answers the paths that remain. */
  async aclRemove(ai: AppInstance, iqns: string[]): Promise<string[]> {
    const drop = new Set(iqns.map((i) => `/initiators/${i}`));
    return this.putAcl(ai, (p) => p.filter((x) => !drop.has(x)));
  }

  async online(ai: AppInstance): Promise<void> {
    if (ai.admin_state === 'online' && ai.storage_instances.every((s) => s.access.iqn)) return;
    await this.api(`bringing ${ai.name} online`, () => this.client.put(ai.path, { admin_state: 'online' }));
  }

  /** Poll the storage instance until it has an IQN and portal IPs. */
  async waitAccess(ai: AppInstance, timeoutMs = 30_000): Promise<Access> {
    const si = ai.storage_instances[0]!;
    const deadline = Date.now() + timeoutMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      const s = (await this.api(`reading ${si.path}`, () => this.client.get<StorageInstance>(si.path))).data;
      if (s.access.iqn && s.access.ips?.length) return { iqn: s.access.iqn, ips: s.access.ips, volumeUuid: s.volumes[0]?.uuid ?? '' };
      if (Date.now() >= deadline)
        throw new HarnessError('TIMEOUT', `storage instance ${si.path} has no iqn/portal IPs after ${timeoutMs} ms (last seen: ${JSON.stringify(s.access)}); check the ipPool option and the DSP`);
      await sleep(wait);
    }
  }

  /** Take the app_instance offline (force) and delete it; no error if it is already gone. */
  async destroy(name: string): Promise<boolean> {
    const path = `/app_instances/${encodeURIComponent(name)}`;
    const ai = await this.getAi(name);
    if (!ai) return false;
    if (ai.admin_state !== 'offline') await this.api(`taking ${name} offline`, () => this.client.put(path, { admin_state: 'offline', force: true }));
    try {
      await this.client.delete(path);
    } catch (err) {
      if (err instanceof DateraApiError && err.status === 404) return false;
      throw this.explain(`deleting ${name}`, err);
    }
    return true;
  }

  /** End the API session so call-outs leave no sessions behind on the DSP. */
  async close(): Promise<void> {
    if (this.client.logins === 0) return;
    await this.client.put('/logout', {}).catch(() => undefined);
  }
}
