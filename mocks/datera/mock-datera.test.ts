// The REST surface of the mock, driven the way the Go and Python SDKs drive it. REST only (targets: none);
// the iSCSI side is in mock-datera-iscsi.root.test.ts.
import t from 'tap';
import { request } from 'node:http';
import { DateraApiError, DateraClient } from '../../drivers/datera/client.js';
import { MockDatera, type StartedMockDatera } from './mock-datera.js';

const PASSWORD = 'correct-horse';

async function start(opts: ConstructorParameters<typeof MockDatera>[0] = {}): Promise<StartedMockDatera> {
  return new MockDatera({ httpPort: 0, httpsPort: 0, targets: 'none', users: { admin: PASSWORD }, ...opts }).start();
}

/** A raw HTTP call: status, parsed body. */
function raw(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const r = request(new URL(path, base), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const aiBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  create_mode: 'kubernetes',
  storage_instances: [
    {
      name: 'storage-1',
      ip_pool: { path: '/access_network_ip_pools/default' },
      auth: { type: 'none' },
      volumes: [{ name: 'volume-1', size: 2, replica_count: 3, placement_mode: 'hybrid', performance_policy: { total_iops_max: 1000 } }],
    },
  ],
  ...extra,
});

t.test('login: form-encoded and JSON both answer a top-level key; bad credentials get AuthFailedError', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  for (const [type, body] of [
    ['application/x-www-form-urlencoded', `name=admin&password=${PASSWORD}`],
    ['application/json', JSON.stringify({ name: 'admin', password: PASSWORD })],
  ]) {
    const r = await raw(m.url, 'PUT', '/v2.2/login', body, { 'Content-Type': type! });
    t.equal(r.status, 200, type);
    t.match(r.body, { key: /^[0-9a-f]{32}$/, version: 'v2.2' }, type);
    t.notOk('data' in r.body, 'login is not enveloped');
  }
  const bad = await raw(m.url, 'PUT', '/v2.2/login', JSON.stringify({ name: 'admin', password: 'nope' }), { 'Content-Type': 'application/json' });
  t.equal(bad.status, 401);
  t.equal(bad.body.name, 'AuthFailedError');
  t.match(bad.body, { code: Number, http: 401, api_req_id: Number, params: Object, errors: Array });
});

t.test('a missing, unknown or expired key gets the exact invalid-session 401; the SDK-style client logs in again', async (t) => {
  const m = await start({ sessionIdleSeconds: 0.2 });
  t.teardown(() => m.stop());
  const none = await raw(m.url, 'GET', '/v2.2/system');
  t.equal(none.status, 401);
  t.equal(none.body.message, 'The key provided with the request does not correspond to a valid session.');
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  await c.get('/system');
  t.equal(c.logins, 1);
  await new Promise((r) => setTimeout(r, 350));
  await c.get('/system');
  t.equal(c.logins, 2, 'expired after idle time, logged in again and replayed');
  m.revokeSessions();
  await c.get('/system');
  t.equal(c.logins, 3, 'revoked keys are refused too');
  const k = await raw(m.url, 'GET', '/v2.2/system', undefined, { 'Auth-Token': 'f'.repeat(32) });
  t.equal(k.body.name, 'AuthFailedError');
});

t.test('HTTPS with a self-signed certificate serves the same API', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.httpsUrl!, user: 'admin', password: PASSWORD, loginEncoding: 'json' });
  const sys = await c.get<Record<string, unknown>>('/system');
  t.match(sys.data, { path: '/system', sw_version: /^\d+\.\d+\.\d+\.\d+$/, compression_ratio: String, total_capacity: Number, callhome_enabled: false });
});

t.test('api_versions, /api schema, access VIPs and the default pool', async (t) => {
  const m = await start({ fallbackIps: ['127.9.0.1', '127.9.1.1'] });
  t.teardown(() => m.stop());
  t.same((await raw(m.url, 'GET', '/api_versions')).body, { api_versions: ['v2', 'v2.1', 'v2.2'] });
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, apiVersion: '2.1' });
  const { key } = { key: await c.login() };
  const schema = await raw(m.url, 'GET', '/v2.2/api', undefined, { 'Auth-Token': key });
  t.ok(schema.body['/app_instances'], 'schema lists /app_instances');
  t.match(schema.body['/metrics/io/:metric'], { read: { urlParamSchema: { metric: { enum: Array } } } });
  t.ok((schema.body['/app_instances'] as { create: { bodyParamSchema: Record<string, unknown> } }).create.bodyParamSchema.template_override);
  const vip = await c.get<{ network_paths: { ip: string }[] }>('/system/network/access_vip');
  t.same(vip.data.network_paths.map((n) => n.ip), ['127.9.0.1', '127.9.1.1']);
  const pool = await c.get<{ network_paths: unknown[] }>('/access_network_ip_pools/default');
  t.equal(pool.data.network_paths.length, 2, 'one block per access network');
  t.equal(pool.version, 'v2.1', 'the envelope names the version asked for');
});

t.test('app instance lifecycle as CSI drives it: create, get by name and uuid, online/offline, metadata, delete', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  const created = await c.post<Record<string, any>>('/app_instances', aiBody('CSI-pvc-1'));
  t.match(created, { tenant: '/root', path: '/app_instances', version: 'v2.2' });
  const ai = created.data;
  t.match(ai, { path: '/app_instances/CSI-pvc-1', name: 'CSI-pvc-1', admin_state: 'online', app_template: { path: '' } });
  const si = ai.storage_instances[0];
  t.match(si, {
    path: '/app_instances/CSI-pvc-1/storage_instances/storage-1',
    op_state: 'available',
    acl_policy: { path: /acl_policy$/, initiators: [] },
    access: { iqn: /^iqn\.2013-05\.com\.daterainc:tc:01:sn:[0-9a-f]{16}$/, ips: ['127.0.0.1', '127.0.0.2'] },
    ip_pool: { path: '/access_network_ip_pools/default' },
  });
  t.match(si.volumes[0], { size: 2, replica_count: 3, performance_policy: { total_iops_max: 1000, read_iops_max: 0 }, snapshots: [] });
  t.match(si.volumes[0].placement_policy, { path: '/placement_policies/default' }, 'references are objects');
  t.equal((await c.get<any>(`/app_instances/${ai.uuid}`)).data.name, 'CSI-pvc-1', 'routed by uuid too');
  t.equal((await c.get<any>(si.path)).data.iqn ?? (await c.get<any>(si.path)).data.access.iqn, si.access.iqn, 'embedded paths route');

  await t.rejects(c.post('/app_instances', aiBody('CSI-pvc-1')), { name: 'DateraApiError', status: 409, dateraName: 'ConflictError' });
  await t.rejects(c.delete('/app_instances/CSI-pvc-1'), { name: 'DateraApiError', status: 400 }, 'an online instance is not deleted without offline or force');

  const md = await c.put<Record<string, string>>('/app_instances/CSI-pvc-1/metadata', { fs_type: 'xfs', formatted: 'true' });
  t.same(md.data, { fs_type: 'xfs', formatted: 'true' });
  t.same((await c.put<Record<string, string>>('/app_instances/CSI-pvc-1/metadata', { device_path: '/dev/x' })).data, { fs_type: 'xfs', formatted: 'true', device_path: '/dev/x' }, 'PUT merges');
  await t.rejects(c.put('/app_instances/CSI-pvc-1/metadata', { n: 1 }), { name: 'DateraApiError', status: 422 }, 'metadata values must be strings');

  const off = await c.put<any>('/app_instances/CSI-pvc-1', { admin_state: 'offline', force: true });
  t.equal(off.data.storage_instances[0].op_state, 'unavailable');
  t.equal(off.data.storage_instances[0].access.ips.length, 2, 'access stays populated while offline');
  const del = await c.delete<any>('/app_instances/CSI-pvc-1');
  t.equal(del.data.name, 'CSI-pvc-1', 'DELETE answers the deleted instance');
  await t.rejects(c.get('/app_instances/CSI-pvc-1'), { name: 'DateraApiError', status: 404, dateraName: 'NotFoundError', message: /No data at \/app_instances\/CSI-pvc-1/ });
});

t.test('lists: envelope metadata, paging, both filter forms, and sort', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  for (const n of ['OS-a1', 'OS-b2', 'CSI-c3', 'CSI-d4', 'CSI-e5']) await c.post('/app_instances', aiBody(n));
  const all = await c.get<any[]>('/app_instances');
  t.same(all.metadata, { total_count: 5, request_count: 5, offset: 0, limit: 100 });
  const page = await c.get<any[]>('/app_instances', { limit: 2, offset: 3, sort: 'name' });
  t.same(page.data.map((a) => a.name), ['OS-a1', 'OS-b2'], 'offset 3, limit 2 of the sorted list');
  t.same(page.metadata, { total_count: 5, request_count: 2, offset: 3, limit: 2 });
  t.same((await c.get<any[]>('/app_instances', { filter: 'name=OS-b2' })).data.map((a) => a.name), ['OS-b2']);
  t.same((await c.get<any[]>('/app_instances', { filter: 'match(name,.*c3.*)' })).data.map((a) => a.name), ['CSI-c3']);
  await t.rejects(c.get('/app_instances', { limit: 5000 }), { name: 'DateraApiError', status: 400 });
  const sorted = await c.get<any[]>('/app_instances', { sort: 'name' });
  t.same(sorted.data.map((a) => a.name), ['CSI-c3', 'CSI-d4', 'CSI-e5', 'OS-a1', 'OS-b2']);
});

t.test('initiators, ACLs and groups: 404 NotFoundError on a missing initiator, 409 on re-create, duplicates tolerated', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  const iqn = 'iqn.1993-08.org.debian:01:abcdef123456';
  await t.rejects(c.get(`/initiators/${iqn}`), { name: 'DateraApiError', status: 404, dateraName: 'NotFoundError' });
  const init = await c.post<any>('/initiators', { id: iqn, name: 'CSI-node-1', force: true });
  t.same(init.data, { path: `/initiators/${iqn}`, id: iqn, name: 'CSI-node-1', tenant: '/root' });
  await t.rejects(c.post('/initiators', { id: iqn, name: 'x-node' }), { name: 'DateraApiError', status: 409 });
  await c.post('/initiators', { id: iqn, name: 'renamed', force: true });
  await c.post('/app_instances', aiBody('CSI-acl'));
  const acl = '/app_instances/CSI-acl/storage_instances/storage-1/acl_policy';
  const put = await c.put<any>(acl, { initiators: [{ path: `/initiators/${iqn}` }, { path: `/initiators/${iqn}` }] });
  t.same(put.data.initiators, [{ path: `/initiators/${iqn}` }], 'duplicate paths collapse; entries carry no tenant key');
  await t.rejects(c.put(acl, { initiators: [{ path: '/initiators/iqn.2000-01.com.example:missing' }] }), { name: 'DateraApiError', status: 404 });
  await t.rejects(c.put(`${acl}/initiators`, { op: 'add', path: `/initiators/${iqn}` }), { name: 'DateraApiError', status: 409 }, 'add of a member already present');
  await c.put(`${acl}/initiators`, { op: 'remove', path: `/initiators/${iqn}` });
  t.same((await c.get<any>(acl)).data.initiators, []);
  await c.post('/initiator_groups', { name: 'workers', members: [{ path: `/initiators/${iqn}` }] });
  await c.put(acl, { initiator_groups: [{ path: '/initiator_groups/workers' }] });
  const snap = await m.snapshot();
  t.same(snap.state.tenants['/root']!.app_instances['CSI-acl']!.storage_instances[0]!.acl_groups, ['workers']);
  await t.rejects(c.delete('/initiator_groups/workers'), { name: 'DateraApiError', status: 409 }, 'a group in use is not deleted');
  await t.rejects(c.delete(`/initiators/${iqn}`), { name: 'DateraApiError', status: 409 }, 'an initiator that is a group member is not deleted');
});

t.test('tenants are isolated; an empty tenant header is /root; a bare name is under /root; unknown tenants are refused', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const root = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, tenant: '' });
  await root.post('/tenants', { name: 'tenant-A' });
  await t.rejects(root.post('/tenants', { name: 'tenant-A' }), { name: 'DateraApiError', status: 409 });
  const a = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, tenant: 'tenant-A' });
  const a2 = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, tenant: '/root/tenant-A' });
  await a.post('/app_instances', aiBody('OS-in-a'));
  t.equal((await a2.get<any>('/app_instances/OS-in-a')).tenant, '/root/tenant-A');
  await t.rejects(root.get('/app_instances/OS-in-a'), { name: 'DateraApiError', status: 404 }, 'root does not see tenant-A');
  t.equal((await root.get<any[]>('/app_instances')).data.length, 0);
  const ghost = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, tenant: '/root/ghost' });
  await t.rejects(ghost.get('/app_instances'), { name: 'DateraApiError', status: 404, message: /Tenant \/root\/ghost does not exist/ });
});

t.test('templates with string-size overrides, QoS policy, resize, snapshots (code 15 on duplicate uuid), clones', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  t.ok((await c.get<any[]>('/app_templates')).data.some((x) => x.name === 'basic'));
  const ai = await c.post<any>('/app_instances', {
    name: 'CSI-tpl',
    create_mode: 'kubernetes',
    app_template: { path: '/app_templates/basic' },
    template_override: { storage_instances: { 'storage-1': { volumes: { 'volume-1': { size: '3' } } } } },
  });
  t.equal(ai.data.app_template.path, '/app_templates/basic');
  const vol = ai.data.storage_instances[0].volumes[0];
  t.equal(vol.size, 3, 'override size given as a string');
  await t.rejects(c.post('/app_instances', { name: 'CSI-t2', app_template: { path: '/app_templates/nope' } }), { name: 'DateraApiError', status: 404 });

  const pp = await c.post<any>(`${vol.path}/performance_policy`, { total_iops_max: 500, total_bandwidth_max: 2048 });
  t.match(pp.data, { total_iops_max: 500, total_bandwidth_max: 2048, read_iops_max: 0 });
  await t.rejects(c.post(`${vol.path}/performance_policy`, { total_iops_max: 10_000_001 }), { name: 'DateraApiError', status: 422 });
  t.equal((await c.put<any>(vol.path, { size: 5 })).data.size, 5);
  await t.rejects(c.put(vol.path, { size: 4 }), { name: 'DateraApiError', status: 400 }, 'no shrinking');

  const uuid = '6f1c1b4e-2c2f-4a4b-9a4e-0b7f3c9d1e21';
  const snap = await c.post<any>(`${vol.path}/snapshots`, { uuid });
  t.match(snap.data, { uuid, utc_ts: /^\d+\.\d{9}$/, op_state: 'available', path: new RegExp(`^${vol.path}/snapshots/`) });
  await t.rejects(c.post(`${vol.path}/snapshots`, { uuid }), { name: 'DateraApiError', status: 400, body: { name: 'InvalidRequestError', code: 15 } });
  const again = await c.get<any>('/app_instances/CSI-tpl');
  t.equal(again.data.storage_instances[0].volumes[0].snapshots[0].uuid, uuid, 'snapshots embedded in the AI');
  const clone = await c.post<any>('/app_instances', { name: 'CSI-clone', clone_snapshot_src: { path: snap.data.path } });
  t.equal(clone.data.storage_instances[0].volumes[0].size, 5, 'clone copies the layout and size');
  await c.delete(snap.data.path, {}, { force: 'false', remote_provider_uuid: '' });
  t.same((await c.get<any[]>(`${vol.path}/snapshots`)).data, []);
});

t.test('fault injection: latency, fail the next N with a Datera error, 503 retried by the client', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, retryBudgetMs: 5000 });
  await c.get('/system');
  m.injectFault({ method: 'GET', path: '^/app_instances$', status: 500, name: 'InternalError', message: 'disk on fire', count: 2 });
  await t.rejects(c.get('/app_instances'), { name: 'DateraApiError', status: 500, body: { name: 'InternalError', message: 'disk on fire' } });
  await t.rejects(c.get('/app_instances'), { name: 'DateraApiError', status: 500 });
  await c.get('/app_instances');
  t.pass('the third request passes: the fault was for the next 2');
  m.injectFault({ path: '^/system$', status: 503, count: 2 });
  await c.get('/system');
  t.equal(m.requests().filter((r) => r.path === '/system' && r.status === 503).length, 2, 'client retried 503 twice');
  m.injectFault({ path: '^/storage_nodes$', latencyMs: 150, count: 1 });
  const t0 = Date.now();
  await c.get('/storage_nodes');
  t.ok(Date.now() - t0 >= 140, 'latency injected');
  t.throws(() => m.injectFault({ path: '(' }), { code: 'BAD_INPUT' });
  const ctl = await raw(m.url, 'POST', '/__mock/faults', JSON.stringify({ path: '^/tenants', status: 403, name: 'PermissionDeniedError' }));
  t.equal(ctl.status, 200, 'the control API takes faults over HTTP');
  await t.rejects(c.get('/tenants'), { name: 'DateraApiError', status: 403, dateraName: 'PermissionDeniedError' });
  await raw(m.url, 'DELETE', '/__mock/faults');
  await c.get('/tenants');
  const bad = await raw(m.url, 'POST', '/__mock/faults', JSON.stringify({ path: '^/x', status: 200 }));
  t.equal(bad.status, 400, 'a fault with a non-error status is refused');
});

t.test('the request log records calls and never the password; state persists across a restart', async (t) => {
  const dir = t.testdir();
  const m = await start({ stateDir: dir });
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD, loginEncoding: 'json' });
  await c.post('/app_instances', aiBody('CSI-keep'));
  await c.put('/app_instances/CSI-keep/metadata', { k: 'v' });
  const log = m.requests();
  t.ok(log.some((r) => r.method === 'POST' && r.path === '/app_instances' && r.status === 200));
  t.notOk(JSON.stringify(log).includes(PASSWORD), 'password not logged');
  const ctl = await raw(m.url, 'GET', '/__mock/requests');
  t.notOk(JSON.stringify(ctl.body).includes(PASSWORD));
  await m.stop();
  const m2 = await start({ stateDir: dir });
  t.teardown(() => m2.stop());
  const c2 = new DateraClient({ server: m2.server, user: 'admin', password: PASSWORD });
  const ai = await c2.get<any>('/app_instances/CSI-keep');
  t.same((await c2.get('/app_instances/CSI-keep/metadata')).data, { k: 'v' });
  t.equal(ai.data.storage_instances[0].volumes[0].size, 2);
});

t.test('unknown routes, methods, versions and bad bodies get Datera-shaped 4xx errors', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: PASSWORD });
  const key = await c.login();
  const h = { 'Auth-Token': key, 'Content-Type': 'application/json' };
  const cases: [string, string, string | undefined, number, string][] = [
    ['GET', '/v2.2/no_such_thing', undefined, 404, 'NotFoundError'],
    ['PATCH', '/v2.2/app_instances', '{}', 405, 'InvalidRequestError'],
    ['GET', '/v9/system', undefined, 404, 'NotFoundError'],
    ['POST', '/v2.2/app_instances', '{not json', 400, 'InvalidRequestError'],
    ['POST', '/v2.2/app_instances', '[1,2]', 400, 'InvalidRequestError'],
    ['POST', '/v2.2/app_instances', '{"name": 12}', 422, 'ValidationFailedError'],
    ['POST', '/v2.2/app_instances', '{"name": "1bad"}', 422, 'ValidationFailedError'],
    ['POST', '/v2.2/app_instances', '{"name": "OS-x", "storage_instances": [{"volumes": [{"size": 0}]}]}', 422, 'ValidationFailedError'],
    ['POST', '/v2.2/app_instances', '{"name": "OS-x", "storage_instances": [{"volumes": [{"size": 1, "replica_count": 9}]}]}', 422, 'ValidationFailedError'],
    ['POST', '/v2.2/app_instances', '{"name": "OS-x", "storage_instances": [{"ip_pool": "/access_network_ip_pools/default", "volumes": []}]}', 422, 'ValidationFailedError'],
    ['POST', '/v2.2/initiators', '{"id": "not-an-iqn"}', 422, 'ValidationFailedError'],
    ['GET', '/v2.2/app_instances/%E0%A4%A', undefined, 400, 'InvalidRequestError'],
  ];
  for (const [method, path, body, status, name] of cases) {
    const r = await raw(m.url, method, path, body, h);
    t.equal(r.status, status, `${method} ${path} ${body ?? ''} -> ${status}`);
    t.equal(r.body.name, name, `${method} ${path} -> ${name}`);
    t.type(r.body.message, 'string');
  }
  const big = await raw(m.url, 'POST', '/v2.2/app_instances', JSON.stringify({ name: 'OS-big', descr: 'x'.repeat(2 << 20) }), h);
  t.equal(big.status, 413);
  t.same((await c.get<any[]>('/app_instances')).data, [], 'nothing was created by the bad requests');
});

t.test('the client names the cause when the server is unreachable', async (t) => {
  const c = new DateraClient({ server: '127.0.0.1:1', user: 'admin', password: 'x', retryBudgetMs: 300 });
  await t.rejects(c.get('/system'), { name: 'DateraConnectionError', message: /cannot reach the Datera API at http:\/\/127\.0\.0\.1:1/ });
});

t.test('bad credentials surface as DateraApiError with AuthFailedError', async (t) => {
  const m = await start();
  t.teardown(() => m.stop());
  const c = new DateraClient({ server: m.server, user: 'admin', password: 'wrong' });
  const err = await c.get('/system').catch((e: unknown) => e);
  t.type(err, DateraApiError);
  t.equal((err as DateraApiError).dateraName, 'AuthFailedError');
});
