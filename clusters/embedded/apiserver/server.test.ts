// The embedded API server over real HTTPS on loopback, driven by @kubernetes/client-node and raw node:https requests:
// auth, discovery, every verb, Status bodies, dryRun, fieldValidation, the patch types, subresources, watches
// (resume, 410, timeouts, Tables, streaming lists) and the client-node Watch and Informer. The parts are the real
// document/patch/table modules; only logs and exec (pods do not run here) are fakes that record what they were asked.
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import * as k8s from '@kubernetes/client-node';
import { waitFor, sleep } from '../../../lib/wait.js';
import { clusterProfile, type ClusterProfile } from '../profiles.js';
import { resourcesFor } from './resources.js';
import { Store, type KObject } from './store.js';
import { createPki } from './pki.js';
import { ApiServer, type ExecRequest, type LogRequest, type ServerParts } from './server.js';
import { apiGroup, apiResourceList, rootDiscovery, versionInfo } from './discovery.js';
import { openapiV2, openapiV3 } from './openapi.js';
import { toTable } from './tables.js';
import { applyPatch } from './patch.js';
import { checkFields } from './field-validation.js';
import { createAdmission } from './admission.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const STREAMING = 'watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan';

const pkiDir = await mkdtemp(join(tmpdir(), 'dkc-apiserver-test-'));
t.teardown(() => rm(pkiDir, { recursive: true, force: true }));
const pki = await createPki(pkiDir);

/** What the fake parts saw, and knobs to make them misbehave. */
interface Fakes {
  logCalls: LogRequest[];
  execCalls: ExecRequest[];
  logImpl?: (req: LogRequest, out: NodeJS.WritableStream, signal: AbortSignal) => Promise<void>;
  execThrows?: boolean;
  beforePatch?: () => void;
  tableThrows?: boolean;
}

interface Resp {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

interface CallOpts {
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** null: no Authorization header; a string: that bearer token; default: the admin token. */
  token?: string | null;
  headers?: Record<string, string>;
}

interface Stream {
  status: number;
  /** The Status body when the server refused the watch. */
  body?: any;
  events: any[];
  ended: Promise<void>;
  until(n: number): Promise<any[]>;
  close(): void;
}

function headersOf(o: CallOpts, data: string | Buffer | undefined): Record<string, string> {
  return {
    ...(o.token === null ? {} : { Authorization: o.token === undefined ? `Bearer ${pki.token}` : o.token }),
    ...(o.accept ? { Accept: o.accept } : {}),
    // Node frames a DELETE body only when told its length.
    ...(data !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(data)) } : {}),
    ...o.headers,
  };
}

function call(base: string, method: string, path: string, o: CallOpts = {}): Promise<Resp> {
  const u = new URL(path, base);
  const data = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: headersOf(o, data), ca: pki.caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

interface Booted {
  p: ClusterProfile;
  store: Store;
  srv: ApiServer;
  fakes: Fakes;
  requests: { method: string; path: string; code: number }[];
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  call(method: string, path: string, o?: CallOpts): Promise<Resp>;
  stream(path: string, o?: CallOpts): Promise<Stream>;
  /** Create (store level, no HTTP) a namespace. */
  ns(name: string): void;
}

/** The server's parts built from the real modules, as cluster.ts builds them; logs and exec are recording fakes. */
function partsFor(p: ClusterProfile, fakes: Fakes): ServerParts {
  return {
    version: () => versionInfo(p),
    discovery: (path, accept) => {
      if (path === '/api') return rootDiscovery(p, true, accept);
      if (path === '/apis') return rootDiscovery(p, false, accept);
      const parts = path.split('/').filter(Boolean);
      const body = parts[0] === 'api' ? apiResourceList(p, '', parts[1]!) : parts.length === 2 ? apiGroup(p, parts[1]!) : apiResourceList(p, parts[1]!, parts[2]!);
      return body ? { contentType: 'application/json', body } : undefined;
    },
    openapi: (path, accept) => (path === '/openapi/v2' ? openapiV2(p, accept) : path.startsWith('/openapi/v3') ? openapiV3(p, path) : undefined),
    table: (kind, objects, opts) => {
      if (fakes.tableThrows) throw new Error('printer exploded');
      return toTable(kind, objects, { includeObject: opts.includeObject as 'None' | 'Object' | 'Metadata', minor: p.minor });
    },
    checkFields: (kind, apiVersion, obj) => checkFields(kind, apiVersion, obj),
    patch: (kind, original, body, contentType) => {
      fakes.beforePatch?.();
      return applyPatch(kind, original, body, contentType);
    },
    execUpgrade: (_req: IncomingMessage, socket: Duplex, _head: Buffer, exec: ExecRequest) => {
      if (fakes.execThrows) throw new Error('no container runtime');
      fakes.execCalls.push(exec);
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n${exec.action}:${exec.container}`);
    },
    logs: async (req, out, signal) => {
      fakes.logCalls.push(req);
      if (fakes.logImpl) return fakes.logImpl(req, out, signal);
      out.write(`log of ${req.pod.metadata.name}/${req.container}\n`);
    },
  };
}

async function boot(t: Test, version: string, storeOpts: { historySize?: number } = {}): Promise<Booted> {
  const p = clusterProfile(version);
  const types = resourcesFor(p);
  const store = new Store({ types, admission: createAdmission(p), ...storeOpts });
  const fakes: Fakes = { logCalls: [], execCalls: [] };
  const requests: Booted['requests'] = [];
  const srv = await new ApiServer({ store, profile: p, types, pki, parts: partsFor(p, fakes), onRequest: (e) => requests.push(e) }).start();
  const streams: Stream[] = [];
  t.teardown(async () => {
    for (const s of streams) s.close();
    await srv.stop();
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'embedded', server: srv.url, caData: Buffer.from(pki.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'admin', token: pki.token }],
    contexts: [{ name: 'embedded', cluster: 'embedded', user: 'admin', namespace: 'default' }],
    currentContext: 'embedded',
  });
  const stream = (path: string, o: CallOpts = {}): Promise<Stream> => {
    const u = new URL(path, srv.url);
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', headers: headersOf(o, undefined), ca: pki.caPem, agent: false }, (res) => {
        const events: any[] = [];
        let buf = '';
        res.on('error', () => undefined);
        const ended = new Promise<void>((r) => res.on('close', () => r()));
        const s: Stream = {
          status: res.statusCode ?? 0,
          events,
          ended,
          until: (n) => waitFor(`${n} events from ${path}`, async (seen) => (seen(JSON.stringify(events)), events.length >= n ? events : undefined), { timeoutMs: 5000, intervalMs: 10 }),
          close: () => req.destroy(),
        };
        streams.push(s);
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        if (s.status === 200) return resolve(s);
        void ended.then(() => resolve({ ...s, body: JSON.parse(buf) }));
      });
      req.on('error', reject);
      req.end();
    });
  };
  return {
    p,
    store,
    srv,
    fakes,
    requests,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    call: (method, path, o) => call(srv.url, method, path, o),
    stream,
    ns: (name) => void store.create('core/namespaces', { metadata: { name } }),
  };
}

/** The ApiException a client-node call fails with, body parsed. */
async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
    throw e;
  }
  throw new Error('expected the call to fail');
}

const pod = (name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}) => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...spec },
});
const cm = (name: string, data: Record<string, string> = { a: '1' }, labels?: Record<string, string>) => ({ metadata: { name, ...(labels ? { labels } : {}) }, data });
const pvc = (name: string) => ({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
const sts = (name: string, replicas = 1) => ({
  metadata: { name },
  spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
});
const status = (code: number, reason: string, extra: Record<string, unknown> = {}) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, ...extra });

t.test('start, stop and the request log', async (t) => {
  const b = await boot(t, 'v1.32');
  t.match(b.srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  // A second server on a taken port fails to start instead of hanging.
  const port = Number(new URL(b.srv.url).port);
  const other = new ApiServer({ store: b.store, profile: b.p, types: resourcesFor(b.p), pki, parts: partsFor(b.p, b.fakes), port });
  await t.rejects(other.start(), { code: 'EADDRINUSE' });
  const r = await b.call('GET', '/version');
  t.equal(r.status, 200);
  await waitFor('the request log entry', async () => b.requests.find((e) => e.path === '/version'));
  t.match(b.requests.find((e) => e.path === '/version'), { method: 'GET', code: 200 });
  // An open watch ends when the server stops, and stopping twice is harmless.
  const w = await b.stream('/api/v1/namespaces?watch=1');
  await b.srv.stop();
  await w.ended;
  await b.srv.stop();
  await t.rejects(b.call('GET', '/version'), { code: 'ECONNREFUSED' });
});

t.test('authentication, health and version', async (t) => {
  const b = await boot(t, 'v1.32');
  const health = await b.call('GET', '/healthz', { token: null });
  t.same([health.status, health.text], [200, 'ok']);
  t.equal((await b.call('GET', '/readyz', { token: null })).status, 200);
  const v = await b.call('GET', '/version', { token: null });
  t.equal(v.status, 200);
  t.match(v.json, { major: '1', minor: '32', gitVersion: 'v1.32.9+dkc.emulated' });
  for (const token of [null, 'Bearer wrong', `Bearer ${pki.token.slice(0, -1)}x`, `Basic ${pki.token}`, 'Bearer ']) {
    const r = await b.call('GET', '/api/v1/namespaces', { token });
    t.equal(r.status, 401, `token ${String(token)}`);
    t.match(r.json, status(401, 'Unauthorized', { message: 'Unauthorized' }));
  }
  t.equal((await b.call('GET', '/api/v1/namespaces', { token: `bearer  ${pki.token} ` })).status, 200, 'scheme is case-insensitive, token trimmed');
  t.equal((await b.kc.makeApiClient(k8s.VersionApi).getCode()).gitVersion, 'v1.32.9+dkc.emulated');
  const bad = new k8s.KubeConfig();
  bad.loadFromOptions({ clusters: b.kc.clusters, users: [{ name: 'admin', token: 'nope' }], contexts: b.kc.contexts, currentContext: b.kc.currentContext });
  const e = await apiError(bad.makeApiClient(k8s.CoreV1Api).listNamespace());
  t.equal(e.code, 401);
});

t.test('discovery and OpenAPI routes', async (t) => {
  for (const v of ['v1.20', 'v1.32']) {
    const b = await boot(t, v);
    const api = await b.call('GET', '/api');
    t.match(api.json, { kind: 'APIVersions', versions: ['v1'] });
    t.same((await b.call('GET', '/api/')).json, api.json, 'a trailing slash is the same path');
    t.match((await b.call('GET', '/apis')).json, { kind: 'APIGroupList', groups: [{ name: 'apps' }, { name: 'storage.k8s.io' }] });
    const core = await b.call('GET', '/api/v1');
    t.equal(core.json.kind, 'APIResourceList');
    t.ok(core.json.resources.some((r: any) => r.name === 'pods/log'), 'subresources listed');
    t.match((await b.call('GET', '/apis/apps')).json, { kind: 'APIGroup', name: 'apps' });
    t.match((await b.call('GET', '/apis/apps/v1')).json, { kind: 'APIResourceList', groupVersion: 'apps/v1' });
    for (const missing of ['/apis/batch', '/apis/apps/v9', '/openapi/v3/apis/batch/v1', '/swagger-2.0.0.pb-v1']) {
      const r = await b.call('GET', missing);
      t.equal(r.status, 404, missing);
      t.match(r.json, status(404, 'NotFound'));
    }
    const v2 = await b.call('GET', '/openapi/v2', { accept: 'application/json' });
    t.equal(v2.status, 200);
    t.match(v2.json, { swagger: '2.0' });
    // /openapi/v3 arrived in 1.24.
    const v3 = await b.call('GET', '/openapi/v3');
    if (b.p.minor >= 24) t.ok(v3.json.paths['api/v1'], 'v3 index names the core group version');
    else t.match(v3, { status: 404, json: { reason: 'NotFound' } });
    t.equal((await b.call('GET', '/api', { token: null })).status, 401, 'discovery needs a token');
    // Aggregated discovery only where the profile serves it.
    const agg = await b.call('GET', '/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    if (b.p.aggregatedDiscovery) {
      t.match(agg.headers['content-type'], /as=APIGroupDiscoveryList/);
      t.equal(agg.json.kind, 'APIGroupDiscoveryList');
    } else t.equal(agg.json.kind, 'APIGroupList');
    // client-node reads the same documents.
    t.same((await b.kc.makeApiClient(k8s.CoreApi).getAPIVersions()).versions, ['v1']);
    t.ok((await b.kc.makeApiClient(k8s.ApisApi).getAPIVersions()).groups.some((g) => g.name === 'apps'));
    t.ok((await b.kc.makeApiClient(k8s.AppsV1Api).getAPIResources()).resources.some((r) => r.name === 'statefulsets/scale'));
  }
});

for (const v of ['v1.20', 'v1.32', 'v1.35']) {
  t.test(`CRUD through client-node on ${v}`, async (t) => {
    const b = await boot(t, v);
    const { core, apps } = b;
    const created = await core.createNamespace({ body: { metadata: { name: 'crud' } } });
    t.equal(created.status?.phase, 'Active');
    t.same(created.spec?.finalizers, ['kubernetes']);
    t.equal((await core.readNamespace({ name: 'crud' })).metadata?.uid, created.metadata?.uid);
    t.ok((await core.listNamespace()).items.some((n) => n.metadata?.name === 'crud'));

    // ConfigMaps: create, read, replace, conflicts, 404.
    const one = await core.createNamespacedConfigMap({ namespace: 'crud', body: cm('one') });
    t.match(one.metadata, { name: 'one', namespace: 'crud', uid: /^[0-9a-f-]{36}$/, resourceVersion: /^\d+$/ });
    const read = await core.readNamespacedConfigMap({ name: 'one', namespace: 'crud' });
    t.same(read.data, { a: '1' });
    const replaced = await core.replaceNamespacedConfigMap({ name: 'one', namespace: 'crud', body: { ...read, data: { a: '2' } } });
    t.same(replaced.data, { a: '2' });
    t.ok(Number(replaced.metadata!.resourceVersion) > Number(read.metadata!.resourceVersion));
    const stale = await apiError(core.replaceNamespacedConfigMap({ name: 'one', namespace: 'crud', body: { ...read, data: { a: '3' } } }));
    t.equal(stale.code, 409);
    t.match(stale.body, status(409, 'Conflict', { message: 'Operation cannot be fulfilled on configmaps "one": the object has been modified; please apply your changes to the latest version and try again', details: { name: 'one', kind: 'configmaps' } }));
    const dup = await apiError(core.createNamespacedConfigMap({ namespace: 'crud', body: cm('one') }));
    t.match(dup, { code: 409, body: status(409, 'AlreadyExists', { message: 'configmaps "one" already exists', details: { name: 'one', kind: 'configmaps' } }) });
    const missing = await apiError(core.readNamespacedConfigMap({ name: 'nope', namespace: 'crud' }));
    t.match(missing, { code: 404, body: status(404, 'NotFound', { message: 'configmaps "nope" not found', details: { name: 'nope', kind: 'configmaps' } }) });
    const noNs = await apiError(core.createNamespacedConfigMap({ namespace: 'ghost', body: cm('x') }));
    t.match(noNs, { code: 404, body: { reason: 'NotFound', message: 'namespaces "ghost" not found' } });

    // Pods: defaults from admission, 422 with causes.
    const p1 = await core.createNamespacedPod({ namespace: 'crud', body: pod('p1') });
    t.match(p1, { status: { phase: 'Pending' }, spec: { restartPolicy: 'Always', serviceAccountName: 'default' } });
    const bad = await apiError(core.createNamespacedPod({ namespace: 'crud', body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c' }] } } as any }));
    t.match(bad, {
      code: 422,
      body: status(422, 'Invalid', { message: 'Pod "bad" is invalid: spec.containers[0].image: Required value', details: { name: 'bad', kind: 'Pod', causes: [{ reason: 'FieldValueRequired', field: 'spec.containers[0].image' }] } }),
    });
    t.same((await core.listNamespacedPod({ namespace: 'crud' })).items.map((x) => x.metadata?.name), ['p1']);

    // PVCs: protection finalizer (1.10+), so a delete only marks them.
    const claim = await core.createNamespacedPersistentVolumeClaim({ namespace: 'crud', body: pvc('data') });
    t.equal(claim.status?.phase, 'Pending');
    t.same(claim.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
    const deleting = await core.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'crud' });
    t.ok(deleting.metadata?.deletionTimestamp, 'PVC is terminating, not gone');
    t.ok(await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'crud' }));

    // StatefulSets in apps/v1: defaults, generation.
    const s = await apps.createNamespacedStatefulSet({ namespace: 'crud', body: sts('web') });
    t.match(s, { metadata: { generation: 1 }, spec: { podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate' } } });
    const s2 = await apps.replaceNamespacedStatefulSet({ name: 'web', namespace: 'crud', body: { ...s, spec: { ...s.spec!, replicas: 2 } } });
    t.equal(s2.metadata?.generation, 2);
    t.same((await apps.listNamespacedStatefulSet({ namespace: 'crud' })).items.map((x) => x.spec?.replicas), [2]);
    t.equal((await apps.listStatefulSetForAllNamespaces()).items.length, 1);

    // Deletes: a ConfigMap goes at once; the namespace waits for its finalizer.
    await core.deleteNamespacedConfigMap({ name: 'one', namespace: 'crud' });
    t.equal((await apiError(core.readNamespacedConfigMap({ name: 'one', namespace: 'crud' }))).code, 404);
    const nsDel = await b.call('DELETE', '/api/v1/namespaces/crud');
    t.equal(nsDel.status, 202);
    t.equal(nsDel.json.status.phase, 'Terminating');
    t.equal((await core.readNamespace({ name: 'crud' })).status?.phase, 'Terminating');
  });
}

t.test('routing errors, methods and bodies', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('r');
  for (const path of ['/foo', '/api/v2', '/api/v1/bogus', '/api/v1/pods/x', '/api/v1/namespaces/r/bogus', '/api/v1/namespaces/r/configmaps/x/status', '/api/v1/namespaces/r/pods/p/log/more', '/api/v1/namespaces/r/nodes', '/apis/apps/v1/namespaces/r/statefulsets/x/bogus']) {
    const r = await b.call('GET', path);
    t.equal(r.status, 404, path);
    t.match(r.json, status(404, 'NotFound'), path);
  }
  t.match((await b.call('GET', '/api/v1/bogus')).json.message, 'the server could not find the requested resource');
  const methods: [string, string, number][] = [
    ['POST', '/api/v1/pods', 405],
    ['PUT', '/api/v1/namespaces/r/configmaps', 405],
    ['PATCH', '/api/v1/namespaces/r/configmaps', 405],
    ['DELETE', '/api/v1/namespaces', 405],
    ['POST', '/api/v1/namespaces/r/configmaps/x', 405],
    ['OPTIONS', '/api/v1/namespaces/r/configmaps/x', 405],
  ];
  for (const [method, path, code] of methods) {
    const r = await b.call(method, path, { body: method === 'POST' ? pod('x') : undefined });
    t.equal(r.status, code, `${method} ${path}`);
    t.match(r.json, status(405, 'MethodNotAllowed', { message: 'the server does not allow this method on the requested resource' }));
  }
  // Bodies the server cannot take.
  const cases: [unknown, string, number, RegExp][] = [
    ['{not json', 'POST', 400, /^the body of the request was in an unknown format/],
    ['[1,2]', 'POST', 400, /^the body of the request was not a JSON object$/],
    [{ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'k' } }, 'POST', 400, /does not match the expected API version \(v1\)/],
  ];
  for (const [body, method, code, message] of cases) {
    const r = await b.call(method, '/api/v1/namespaces/r/configmaps', { body });
    t.equal(r.status, code);
    t.match(r.json, status(code, 'BadRequest', { message }));
  }
  const big = await b.call('POST', '/api/v1/namespaces/r/configmaps', { body: JSON.stringify(cm('big', { x: 'y'.repeat(3 * 1024 * 1024) })) });
  t.match(big, { status: 413, json: status(413, 'RequestEntityTooLarge') });
  // A cluster-scoped resource is created without a namespace; a namespaced one needs one.
  t.equal((await b.call('POST', '/api/v1/nodes', { body: { metadata: { name: 'n1' } } })).status, 201);
  const nsInBody = await b.call('POST', '/api/v1/namespaces/r/configmaps', { body: { metadata: { name: 'c', namespace: 'other' } } });
  t.match(nsInBody, { status: 400, json: { message: 'the namespace of the provided object does not match the namespace sent on the request' } });
  // Names on PUT must agree with the URL.
  await b.call('POST', '/api/v1/namespaces/r/configmaps', { body: cm('c') });
  const mismatch = await b.call('PUT', '/api/v1/namespaces/r/configmaps/c', { body: cm('d') });
  t.match(mismatch, { status: 400, json: { message: 'the name of the object (d) does not match the name on the URL (c)' } });
  const nameless = await b.call('PUT', '/api/v1/namespaces/r/configmaps/c', { body: { data: { z: '1' } } });
  t.equal(nameless.status, 200, 'a PUT without metadata takes its name from the URL');
  t.same(nameless.json.data, { z: '1' });
  t.match((await b.call('PUT', '/api/v1/namespaces/r/configmaps/zz', { body: cm('zz') })).json, status(404, 'NotFound', { message: 'configmaps "zz" not found' }));
  // A part that fails with a plain Error is a 500 Status.
  b.fakes.tableThrows = true;
  const boom = await b.call('GET', '/api/v1/namespaces/r/configmaps', { accept: TABLE });
  t.match(boom, { status: 500, json: status(500, 'InternalError', { message: 'Internal error occurred: printer exploded' }) });
  b.fakes.tableThrows = false;
  // route() itself, for the paths kubectl builds.
  t.match(b.srv.route('/api/v1/namespaces/r/finalize'), { rt: { kind: 'Namespace' }, name: 'r', sub: 'finalize' });
  t.match(b.srv.route('/api/v1/namespaces/r/status'), { rt: { kind: 'Namespace' }, name: 'r', sub: 'status' });
  t.match(b.srv.route('/api/v1/nodes/n1/status'), { rt: { kind: 'Node' }, name: 'n1', sub: 'status' });
  t.match(b.srv.route('/api/v1/namespaces/r/configmaps/a%2Eb'), { rt: { kind: 'ConfigMap' }, namespace: 'r', name: 'a.b' });
  t.match(b.srv.route('/apis/apps/v1/statefulsets'), { rt: { kind: 'StatefulSet' }, namespace: undefined, name: undefined });
  t.equal(b.srv.route('/apis'), undefined);
});

t.test('list with label and field selectors, deletecollection', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('s1');
  b.ns('s2');
  for (const [ns, name, labels] of [
    ['s1', 'a', { app: 'a', tier: 'web' }],
    ['s1', 'b', { app: 'b' }],
    ['s1', 'c', {}],
    ['s2', 'd', { app: 'a' }],
  ] as const)
    b.store.create('core/pods', pod(name, { ...labels }), { namespace: ns });
  b.store.mutate('core/pods', 's1', 'b', (p) => void ((p.status as { phase: string }).phase = 'Running'), 'status');
  const names = async (q: string, path = '/api/v1/namespaces/s1/pods') => {
    const r = await b.call('GET', `${path}?${q}`);
    t.equal(r.status, 200, q);
    return r.json.items.map((i: KObject) => i.metadata.name);
  };
  t.same(await names('labelSelector=app%3Da'), ['a']);
  t.same(await names('labelSelector=' + encodeURIComponent('app in (a,b)')), ['a', 'b']);
  t.same(await names('labelSelector=!app'), ['c']);
  t.same(await names('labelSelector=app,tier!=web'), ['b']);
  t.same(await names('fieldSelector=metadata.name%3Dc'), ['c']);
  t.same(await names('fieldSelector=status.phase%3DPending'), ['a', 'c']);
  t.same(await names('fieldSelector=status.phase!%3DPending&labelSelector=app'), ['b']);
  t.same(await names('labelSelector=app%3Da', '/api/v1/pods'), ['a', 'd'], 'all namespaces');
  const list = await b.call('GET', '/api/v1/namespaces/s1/pods');
  t.match(list.json, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: b.store.resourceVersion } });
  t.notOk('kind' in list.json.items[0] || 'apiVersion' in list.json.items[0], 'items carry no kind/apiVersion, like a real list');
  const badField = await b.call('GET', '/api/v1/namespaces/s1/pods?fieldSelector=spec.bogus%3Dx');
  t.match(badField, { status: 400, json: status(400, 'BadRequest', { message: '"spec.bogus" is not a known field selector: only "metadata.name", "metadata.namespace"' }) });
  t.same((await b.core.listNamespacedPod({ namespace: 's1', labelSelector: 'app', fieldSelector: 'metadata.name!=a' })).items.map((p) => p.metadata?.name), ['b']);

  // deletecollection: only what the selector names; dryRun=All deletes nothing.
  for (const [name, del] of [['x1', 'yes'], ['x2', 'yes'], ['x3', 'no']]) b.store.create('core/configmaps', cm(name!, { a: '1' }, { del: del! }), { namespace: 's1' });
  const dry = await b.call('DELETE', '/api/v1/namespaces/s1/configmaps?labelSelector=del%3Dyes&dryRun=All');
  t.equal(dry.status, 200);
  t.equal(dry.json.items.length, 2, 'dry run reports what would go');
  t.equal(b.store.list('core/configmaps', 's1').items.length, 3, 'dry run deleted nothing');
  const gone = await b.call('DELETE', '/api/v1/namespaces/s1/configmaps?labelSelector=del%3Dyes');
  t.match(gone.json, { kind: 'ConfigMapList', apiVersion: 'v1', items: [{ metadata: { name: 'x1' } }, { metadata: { name: 'x2' } }] });
  t.same(
    b.store.list('core/configmaps', 's1').items.map((o) => o.metadata.name),
    ['x3'],
  );
  await b.core.deleteCollectionNamespacedConfigMap({ namespace: 's1' });
  t.equal(b.store.list('core/configmaps', 's1').items.length, 0);
  // Pods with a grace period stay (terminating) and are listed as such.
  b.store.create('core/pods', pod('bound', {}, { nodeName: 'n1' }), { namespace: 's2' });
  const pods = await b.call('DELETE', '/api/v1/namespaces/s2/pods', { body: { propagationPolicy: 'Background' } });
  t.same(
    pods.json.items.map((p: KObject) => [p.metadata.name, p.metadata.deletionGracePeriodSeconds]),
    [
      ['bound', 30],
      ['d', 0],
    ],
  );
  t.same(
    b.store.list('core/pods', 's2').items.map((o) => o.metadata.name),
    ['bound'],
  );
});

t.test('delete options: propagation, preconditions, grace, dryRun', async (t) => {
  const b = await boot(t, 'v1.35');
  b.ns('d');
  const mk = (name: string) => b.store.create('apps/statefulsets', sts(name), { namespace: 'd' }).object;
  mk('orphan');
  const orphan = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/orphan?propagationPolicy=Orphan');
  t.equal(orphan.status, 202);
  t.match(orphan.json, { kind: 'StatefulSet', apiVersion: 'apps/v1', metadata: { finalizers: ['orphan'], deletionTimestamp: /Z$/ } });
  mk('fg');
  const fg = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/fg', { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } });
  t.equal(fg.status, 202);
  t.same(fg.json.metadata.finalizers, ['foregroundDeletion']);
  const bad = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/fg?propagationPolicy=Sideways');
  t.match(bad, {
    status: 422,
    json: status(422, 'Invalid', { message: 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"' }),
  });
  t.match(await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/fg', { body: '{oops' }), { status: 400, json: { reason: 'BadRequest' } });

  const web = mk('web');
  const wrongUid = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web', { body: { preconditions: { uid: 'not-the-uid' } } });
  t.match(wrongUid, { status: 409, json: status(409, 'Conflict', { message: `Operation cannot be fulfilled on statefulsets.apps "web": Precondition failed: UID in precondition: not-the-uid, UID in object meta: ${web.metadata.uid}`, details: { group: 'apps' } }) });
  const wrongRv = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web', { body: { preconditions: { resourceVersion: '1' } } });
  t.match(wrongRv, { status: 409, json: { reason: 'Conflict', message: /Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: \d+/ } });
  const dry = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web?dryRun=All');
  t.equal(dry.status, 200);
  t.ok(b.store.get('apps/statefulsets', 'd', 'web'), 'dry-run delete keeps the object');
  const ok = await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web', { body: { preconditions: { uid: web.metadata.uid, resourceVersion: web.metadata.resourceVersion } } });
  t.equal(ok.status, 200);
  t.equal(b.store.get('apps/statefulsets', 'd', 'web'), undefined);
  t.match((await b.call('DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web')).json, status(404, 'NotFound', { message: 'statefulsets.apps "web" not found', details: { group: 'apps', kind: 'statefulsets' } }));

  // A scheduled pod gets its grace period; gracePeriodSeconds=0 removes it.
  b.store.create('core/pods', pod('g', {}, { nodeName: 'n1', terminationGracePeriodSeconds: 10 }), { namespace: 'd' });
  const graceful = await b.call('DELETE', '/api/v1/namespaces/d/pods/g');
  t.equal(graceful.status, 202);
  t.equal(graceful.json.metadata.deletionGracePeriodSeconds, 10);
  const now = await b.core.deleteNamespacedPod({ name: 'g', namespace: 'd', gracePeriodSeconds: 0 });
  t.equal(now.metadata?.name, 'g');
  t.equal(b.store.get('core/pods', 'd', 'g'), undefined);
});

t.test('dryRun=All stores nothing', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('dry');
  const rv = b.store.resourceVersion;
  const created = await b.call('POST', '/api/v1/namespaces/dry/pods?dryRun=All', { body: pod('p') });
  t.equal(created.status, 201);
  t.match(created.json, { kind: 'Pod', metadata: { name: 'p', uid: /./ }, status: { phase: 'Pending' } });
  t.notOk(created.json.metadata.resourceVersion, 'a dry-run object has no resourceVersion');
  t.equal(b.store.get('core/pods', 'dry', 'p'), undefined);
  const viaClient = await b.core.createNamespacedConfigMap({ namespace: 'dry', body: cm('c'), dryRun: 'All' });
  t.equal(viaClient.metadata?.name, 'c');
  t.equal(b.store.get('core/configmaps', 'dry', 'c'), undefined);
  t.equal(b.store.resourceVersion, rv, 'no write happened');
  const real = b.store.create('core/configmaps', cm('c'), { namespace: 'dry' }).object;
  const put = await b.call('PUT', '/api/v1/namespaces/dry/configmaps/c?dryRun=All', { body: { ...real, data: { a: 'put' } } });
  t.same([put.status, put.json.data], [200, { a: 'put' }]);
  const patched = await b.call('PATCH', '/api/v1/namespaces/dry/configmaps/c?dryRun=All', { body: { data: { a: 'patch' } }, contentType: 'application/merge-patch+json' });
  t.same([patched.status, patched.json.data], [200, { a: 'patch' }]);
  t.same(b.store.get('core/configmaps', 'dry', 'c')!.data, { a: '1' }, 'neither PUT nor PATCH was stored');
  t.equal(b.store.resourceVersion, real.metadata.resourceVersion);
});

t.test('fieldValidation', async (t) => {
  const withUnknown = { ...pod('u'), spec: { ...pod('u').spec, bogus: true } };
  for (const v of ['v1.20', 'v1.32', 'v1.35']) {
    const b = await boot(t, v);
    b.ns('fv');
    const strict = await b.call('POST', '/api/v1/namespaces/fv/pods?fieldValidation=Strict', { body: withUnknown });
    if (!b.p.fieldValidation) {
      // Before 1.25 the parameter does not exist: it is ignored and nothing is checked.
      t.equal(strict.status, 201, `${v}: Strict is an unknown parameter`);
      t.notOk(strict.headers.warning);
      t.equal((await b.call('POST', '/api/v1/namespaces/fv/pods?fieldValidation=Bogus', { body: pod('w') })).status, 201);
      const plain = await b.call('POST', '/api/v1/namespaces/fv/pods', { body: { ...withUnknown, metadata: { name: 'u2' } } });
      t.notOk(plain.headers.warning, `${v}: no warnings by default`);
      continue;
    }
    t.match(strict, { status: 400, json: status(400, 'BadRequest', { message: 'strict decoding error: unknown field "spec.bogus"' }) });
    t.equal(b.store.get('core/pods', 'fv', 'u'), undefined);
    const warn = await b.call('POST', '/api/v1/namespaces/fv/pods', { body: withUnknown });
    t.equal(warn.status, 201);
    t.equal(warn.headers.warning, '299 - "unknown field \\"spec.bogus\\""', `${v}: Warn is the default`);
    const ignore = await b.call('POST', '/api/v1/namespaces/fv/pods?fieldValidation=Ignore', { body: { ...withUnknown, metadata: { name: 'u3' } } });
    t.same([ignore.status, ignore.headers.warning], [201, undefined]);
    const clean = await b.call('POST', '/api/v1/namespaces/fv/pods?fieldValidation=Strict', { body: pod('ok') });
    t.same([clean.status, clean.headers.warning], [201, undefined]);
    t.match(await b.call('POST', '/api/v1/namespaces/fv/pods?fieldValidation=Bogus', { body: pod('w') }), {
      status: 400,
      json: { message: 'fieldValidation parameter unsupported: Bogus. Allowed values are Strict, Warn and Ignore' },
    });
    const putStrict = await b.call('PUT', '/api/v1/namespaces/fv/pods/ok?fieldValidation=Strict', { body: { ...b.store.get('core/pods', 'fv', 'ok'), extra: 1 } });
    t.match(putStrict, { status: 400, json: { message: 'strict decoding error: unknown field "extra"' } });
    b.store.create('core/configmaps', cm('c'), { namespace: 'fv' });
    const patchStrict = await b.call('PATCH', '/api/v1/namespaces/fv/configmaps/c?fieldValidation=Strict', { body: { data: { b: '2' }, nope: 1 }, contentType: 'application/merge-patch+json' });
    t.match(patchStrict, { status: 400, json: { message: 'strict decoding error: unknown field "nope"' } });
    const patchWarn = await b.call('PATCH', '/api/v1/namespaces/fv/configmaps/c', { body: { data: { b: '2' }, nope: 1 }, contentType: 'application/merge-patch+json' });
    t.same([patchWarn.status, patchWarn.headers.warning, patchWarn.json.data], [200, '299 - "unknown field \\"nope\\""', { a: '1', b: '2' }]);
  }
});

t.test('PATCH: merge, strategic, JSON patch, apply; conflicts and retries', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('pt');
  b.store.create('core/configmaps', cm('c', { a: '1', b: '2' }), { namespace: 'pt' });
  b.store.create('core/pods', { ...pod('p', { app: 'x' }), spec: { containers: [{ name: 'c', image: 'busybox:1.36' }, { name: 'side', image: 'busybox:1.36' }] } }, { namespace: 'pt' });
  const cmPath = '/api/v1/namespaces/pt/configmaps/c';
  const merge = await b.call('PATCH', cmPath, { body: { data: { a: null, c: '3' } }, contentType: 'application/merge-patch+json' });
  t.same([merge.status, merge.json.data], [200, { b: '2', c: '3' }]);
  t.match(merge.json, { kind: 'ConfigMap', apiVersion: 'v1' });
  const json = await b.call('PATCH', cmPath, { body: [{ op: 'add', path: '/metadata/labels', value: { l: 'v' } }, { op: 'remove', path: '/data/b' }], contentType: 'application/json-patch+json' });
  t.same([json.status, json.json.metadata.labels, json.json.data], [200, { l: 'v' }, { c: '3' }]);
  // Strategic merge: containers merge by name, so only "side" changes image.
  const smp = await b.call('PATCH', '/api/v1/namespaces/pt/pods/p', { body: { spec: { containers: [{ name: 'side', image: 'busybox:1.37' }] } }, contentType: 'application/strategic-merge-patch+json; charset=utf-8' });
  t.equal(smp.status, 200);
  t.same(
    smp.json.spec.containers.map((c: any) => `${c.name}=${c.image}`),
    ['c=busybox:1.36', 'side=busybox:1.37'],
  );
  // The same patch as a merge patch replaces the list, which pod validation refuses.
  const replaceList = await b.call('PATCH', '/api/v1/namespaces/pt/pods/p', { body: { spec: { containers: [{ name: 'side', image: 'busybox:1.37' }] } }, contentType: 'application/merge-patch+json' });
  t.match(replaceList, { status: 422, json: { reason: 'Invalid', details: { kind: 'Pod' } } });
  // client-node picks the patch type through a header option.
  const viaClient = await b.core.patchNamespacedConfigMap({ name: 'c', namespace: 'pt', body: { data: { d: '4' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  t.same(viaClient.data, { c: '3', d: '4' });
  const viaClientSmp = await b.core.patchNamespacedPod({ name: 'p', namespace: 'pt', body: { metadata: { labels: { extra: 'y' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
  t.same(viaClientSmp.metadata?.labels, { app: 'x', extra: 'y' });

  const apply = await b.call('PATCH', cmPath, { body: 'data:\n  a: "1"\n', contentType: 'application/apply-patch+yaml' });
  t.match(apply, { status: 415, json: status(415, 'UnsupportedMediaType', { message: /server-side apply/ }) });
  t.match(await b.call('PATCH', cmPath, { body: 'x', contentType: 'text/plain' }), { status: 415, json: { reason: 'UnsupportedMediaType' } });
  t.match(await b.call('PATCH', cmPath, { body: '{bad', contentType: 'application/merge-patch+json' }), { status: 400, json: { reason: 'BadRequest', message: /^error decoding patch/ } });
  t.match(await b.call('PATCH', cmPath, { body: [{ op: 'remove', path: '/metadata' }], contentType: 'application/json-patch+json' }), { status: 400, json: { message: 'the patch produced an object without metadata' } });
  t.match(await b.call('PATCH', '/api/v1/namespaces/pt/configmaps/none', { body: {}, contentType: 'application/merge-patch+json' }), { status: 404, json: { message: 'configmaps "none" not found' } });

  // A resourceVersion in the patch is a precondition; without one the patch applies to the current object.
  const cur = b.store.get('core/configmaps', 'pt', 'c')!;
  const stale = await b.call('PATCH', cmPath, { body: { metadata: { resourceVersion: '2' }, data: { e: '5' } }, contentType: 'application/merge-patch+json' });
  t.match(stale, { status: 409, json: status(409, 'Conflict', { message: /the object has been modified/ }) });
  const fresh = await b.call('PATCH', cmPath, { body: { metadata: { resourceVersion: cur.metadata.resourceVersion }, data: { e: '5' } }, contentType: 'application/merge-patch+json' });
  t.equal(fresh.status, 200);
  // A write that lands between read and update is retried, keeping both changes.
  let raced = 0;
  b.fakes.beforePatch = () => {
    if (raced++ === 0) b.store.mutate('core/configmaps', 'pt', 'c', (o) => void ((o.data as Record<string, string>).raced = 'yes'));
  };
  const retried = await b.call('PATCH', cmPath, { body: { data: { f: '6' } }, contentType: 'application/merge-patch+json' });
  t.equal(retried.status, 200);
  t.match(retried.json.data, { raced: 'yes', f: '6' });
  t.equal(raced, 2, 'patched twice');
  // Writes that never stop racing give up with a Conflict.
  let n = 0;
  b.fakes.beforePatch = () => void b.store.mutate('core/configmaps', 'pt', 'c', (o) => void ((o.data as Record<string, string>).n = String(n++)));
  const starved = await b.call('PATCH', cmPath, { body: { data: { g: '7' } }, contentType: 'application/merge-patch+json' });
  t.match(starved, { status: 409, json: { reason: 'Conflict', message: 'Operation cannot be fulfilled on configmaps "c": too many concurrent writes' } });
  t.equal(n, 5);
  b.fakes.beforePatch = undefined;
});

t.test('scale subresource', async (t) => {
  for (const v of ['v1.20', 'v1.35']) {
    const b = await boot(t, v);
    b.ns('sc');
    b.store.create('apps/statefulsets', sts('web', 1), { namespace: 'sc' });
    const path = '/apis/apps/v1/namespaces/sc/statefulsets/web/scale';
    const got = await b.call('GET', path);
    t.match(got.json, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web', namespace: 'sc' }, spec: { replicas: 1 }, status: { replicas: 0, selector: 'app=web' } });
    const put = await b.call('PUT', path, { body: { ...got.json, spec: { replicas: 3 } } });
    t.same([put.status, put.json.spec.replicas], [200, 3]);
    t.equal((b.store.get('apps/statefulsets', 'sc', 'web')!.spec as any).replicas, 3);
    t.equal(b.store.get('apps/statefulsets', 'sc', 'web')!.metadata.generation, 2);
    const stale = await b.call('PUT', path, { body: { ...got.json, spec: { replicas: 4 } } });
    t.match(stale, { status: 409, json: { reason: 'Conflict' } });
    const negative = await b.call('PUT', path, { body: { spec: { replicas: -1 } } });
    t.match(negative, { status: 422, json: status(422, 'Invalid', { message: 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0' }) });
    t.match(await b.call('PUT', path, { body: { spec: {} } }), { status: 422, json: { message: /Invalid value: undefined/ } });
    const patched = await b.call('PATCH', path, { body: { spec: { replicas: 2 } }, contentType: 'application/merge-patch+json' });
    t.same([patched.status, patched.json.spec.replicas], [200, 2]);
    const dry = await b.call('PUT', `${path}?dryRun=All`, { body: { spec: { replicas: 9 } } });
    t.same([dry.status, dry.json.spec.replicas], [200, 9]);
    t.equal((b.store.get('apps/statefulsets', 'sc', 'web')!.spec as any).replicas, 2, 'dry-run scale not stored');
    t.match(await b.call('POST', path, { body: {} }), { status: 405 });
    t.match(await b.call('GET', '/apis/apps/v1/namespaces/sc/statefulsets/none/scale'), { status: 404, json: { message: 'statefulsets.apps "none" not found' } });
    t.equal((await b.call('GET', '/api/v1/namespaces/sc/configmaps/x/scale')).status, 404, 'no scale subresource on configmaps');
    // client-node's typed scale calls.
    const s = await b.apps.readNamespacedStatefulSetScale({ name: 'web', namespace: 'sc' });
    t.equal(s.spec?.replicas, 2);
    const s2 = await b.apps.replaceNamespacedStatefulSetScale({ name: 'web', namespace: 'sc', body: { ...s, spec: { replicas: 0 } } });
    t.equal(s2.spec?.replicas, 0);
  }
});

t.test('status subresource', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('st');
  const claim = b.store.create('core/persistentvolumeclaims', pvc('c'), { namespace: 'st' }).object;
  // The main resource ignores status; the status subresource ignores everything else.
  const main = await b.call('PUT', '/api/v1/namespaces/st/persistentvolumeclaims/c', { body: { ...claim, metadata: { ...claim.metadata, labels: { x: 'y' } }, status: { phase: 'Bound' } } });
  t.same([main.status, main.json.status.phase, main.json.metadata.labels], [200, 'Pending', { x: 'y' }]);
  const st = await b.core.replaceNamespacedPersistentVolumeClaimStatus({ name: 'c', namespace: 'st', body: { ...main.json, metadata: { ...main.json.metadata, labels: { x: 'z' } }, status: { phase: 'Bound' } } });
  t.equal(st.status?.phase, 'Bound');
  t.same(st.metadata?.labels, { x: 'y' });
  t.equal((await b.call('GET', '/api/v1/namespaces/st/persistentvolumeclaims/c/status', { accept: TABLE })).json.kind, 'PersistentVolumeClaim', 'subresource GET is never a Table');
  b.store.create('core/pods', pod('p'), { namespace: 'st' });
  const ps = await b.call('PATCH', '/api/v1/namespaces/st/pods/p/status', { body: { status: { phase: 'Running', podIP: '10.0.0.9' } }, contentType: 'application/merge-patch+json' });
  t.match(ps.json, { status: { phase: 'Running', podIP: '10.0.0.9' } });
  // Namespace status and finalize: deleting waits for spec.finalizers; finalize empties them and the namespace goes.
  b.ns('fin');
  t.equal((await b.call('GET', '/api/v1/namespaces/fin/status')).json.status.phase, 'Active');
  t.equal((await b.call('DELETE', '/api/v1/namespaces/fin')).status, 202);
  const ns = b.store.get('core/namespaces', undefined, 'fin')!;
  const fin = await b.call('PUT', '/api/v1/namespaces/fin/finalize', { body: { ...ns, spec: { finalizers: [] } } });
  t.equal(fin.status, 200);
  t.equal(b.store.get('core/namespaces', undefined, 'fin'), undefined);
});

t.test('binding and eviction', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('be');
  b.store.create('core/pods', pod('p'), { namespace: 'be' });
  const binding = (name: string, node?: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name }, ...(node ? { target: { apiVersion: 'v1', kind: 'Node', name: node } } : {}) });
  const bound = await b.call('POST', '/api/v1/namespaces/be/pods/p/binding', { body: binding('p', 'n1') });
  t.match(bound, { status: 201, json: { kind: 'Status', status: 'Success', code: 201 } });
  t.equal((b.store.get('core/pods', 'be', 'p')!.spec as any).nodeName, 'n1');
  t.match(await b.call('POST', '/api/v1/namespaces/be/pods/p/binding', { body: binding('p', 'n2') }), {
    status: 409,
    json: { reason: 'Conflict', message: 'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1"' },
  });
  t.match(await b.call('POST', '/api/v1/namespaces/be/pods/p/binding', { body: binding('p') }), { status: 400, json: { message: 'Binding target name is required' } });
  t.match(await b.call('POST', '/api/v1/namespaces/be/pods/ghost/binding', { body: binding('ghost', 'n1') }), { status: 404, json: { reason: 'NotFound', message: 'pods "ghost" not found' } });
  t.match(await b.call('GET', '/api/v1/namespaces/be/pods/p/binding'), { status: 405 });
  // Eviction deletes through the pod's delete options.
  const evicted = await b.call('POST', '/api/v1/namespaces/be/pods/p/eviction', { body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'be' }, deleteOptions: { gracePeriodSeconds: 0 } } });
  t.match(evicted, { status: 201, json: { status: 'Success' } });
  t.equal(b.store.get('core/pods', 'be', 'p'), undefined);
  b.store.create('core/pods', pod('q'), { namespace: 'be' });
  t.equal((await b.call('POST', '/api/v1/namespaces/be/pods/q/eviction', { body: { metadata: { name: 'q' } } })).status, 201);
  t.equal(b.store.get('core/pods', 'be', 'q'), undefined, 'an unscheduled pod goes at once');
  t.match(await b.call('POST', '/api/v1/namespaces/be/pods/q/eviction', { body: { metadata: { name: 'q' } } }), { status: 404 });
});

/** An exec/attach upgrade request: the 101 and what followed, or the refusal. */
function upgrade(base: string, path: string, token: string | null = `Bearer ${pki.token}`): Promise<{ status: number; body: string }> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      hostname: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method: 'POST',
      ca: pki.caPem,
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io', ...(token ? { Authorization: token } : {}) },
    });
    req.on('upgrade', (res, socket, head) => {
      let body = head.toString('utf8');
      socket.on('data', (d: Buffer) => (body += d.toString('utf8')));
      socket.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      socket.on('error', reject);
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('logs and exec through the node-side parts', async (t) => {
  const b = await boot(t, 'v1.32');
  b.ns('lx');
  const running = (name: string, containers: string[], phase = 'Running') => {
    b.store.create('core/pods', { metadata: { name }, spec: { nodeName: 'n1', containers: containers.map((c) => ({ name: c, image: 'busybox:1.36' })) } }, { namespace: 'lx' });
    b.store.mutate('core/pods', 'lx', name, (p) => void (p.status = { phase, containerStatuses: containers.map((c) => ({ name: c, state: c === 'stopped' ? { waiting: {} } : { running: {} } })) }), 'status');
  };
  running('one', ['main']);
  running('two', ['app', 'stopped']);
  running('done', ['main'], 'Succeeded');

  // Logs: the request handed to the part, defaults and validation.
  const log = await b.call('GET', '/api/v1/namespaces/lx/pods/one/log');
  t.same([log.status, log.headers['content-type'], log.text], [200, 'text/plain', 'log of one/main\n']);
  t.match(b.fakes.logCalls[0], { container: 'main', follow: false, previous: false, timestamps: false, tailLines: undefined });
  await b.call('GET', '/api/v1/namespaces/lx/pods/two/log?container=app&previous=true&timestamps=true&tailLines=5&sinceSeconds=60&limitBytes=100');
  t.match(b.fakes.logCalls[1], { pod: { metadata: { name: 'two' } }, container: 'app', previous: true, timestamps: true, tailLines: 5, sinceSeconds: 60, limitBytes: 100 });
  t.match(await b.call('GET', '/api/v1/namespaces/lx/pods/two/log'), { status: 400, json: { message: 'a container name must be specified for pod two, choose one of: [app stopped]' } });
  t.match(await b.call('GET', '/api/v1/namespaces/lx/pods/two/log?container=nope'), { status: 400, json: { message: 'container nope is not valid for pod two' } });
  t.match(await b.call('GET', '/api/v1/namespaces/lx/pods/ghost/log'), { status: 404, json: { message: 'pods "ghost" not found' } });
  t.equal(b.fakes.logCalls.length, 2, 'refused requests never reach the node');
  // A node-side failure before any output is an error Status, not an empty 200.
  b.fakes.logImpl = async () => {
    throw new Error('pod one is not running on a node');
  };
  t.match(await b.call('GET', '/api/v1/namespaces/lx/pods/one/log'), { status: 500, json: status(500, 'InternalError', { message: 'Internal error occurred: pod one is not running on a node' }) });
  // After output has started, a failure can only cut the stream.
  b.fakes.logImpl = async (_req, out) => {
    out.write('partial\n');
    await sleep(20);
    throw new Error('lost the node');
  };
  await t.rejects(b.call('GET', '/api/v1/namespaces/lx/pods/one/log'), /aborted|socket hang up|ECONNRESET/);
  // follow: streams until the client leaves, which aborts the part's signal.
  let aborted: (() => void) | undefined;
  const gone = new Promise<void>((r) => (aborted = r));
  b.fakes.logImpl = (req, out, signal) => {
    out.write(`following ${req.container}\n`);
    return new Promise<void>((r) => signal.addEventListener('abort', () => (aborted!(), r())));
  };
  const follow = await new Promise<string>((resolve, reject) => {
    const u = new URL('/api/v1/namespaces/lx/pods/one/log?follow=true', b.srv.url);
    const req = httpsRequest({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, ca: pki.caPem, agent: false, headers: { Authorization: `Bearer ${pki.token}` } }, (res) => {
      res.once('data', (d: Buffer) => {
        resolve(d.toString());
        req.destroy();
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(follow, 'following main\n');
  await gone;
  t.equal(b.fakes.logCalls.at(-1)!.follow, true);
  b.fakes.logImpl = undefined;

  // exec/attach: the upgrade goes to the part with pod and container; refusals are HTTP Status responses.
  t.match(await b.call('POST', '/api/v1/namespaces/lx/pods/one/exec?command=ls'), { status: 400, json: { message: 'Upgrade request required' } });
  const ex = await upgrade(b.srv.url, '/api/v1/namespaces/lx/pods/one/exec?command=ls&stdout=true');
  t.same(ex, { status: 101, body: 'exec:main' });
  t.equal(b.fakes.execCalls[0]!.url.searchParams.get('command'), 'ls');
  t.same(await upgrade(b.srv.url, '/api/v1/namespaces/lx/pods/two/attach?container=app'), { status: 101, body: 'attach:app' });
  const refusals: [string, string | null | undefined, number, string][] = [
    ['/api/v1/namespaces/lx/pods/one/exec', null, 401, 'Unauthorized'],
    ['/api/v1/namespaces/lx/pods/one/exec', 'Bearer nope', 401, 'Unauthorized'],
    ['/api/v1/namespaces/lx/pods/ghost/exec', undefined, 404, 'pods "ghost" not found'],
    ['/api/v1/namespaces/lx/pods/one/log', undefined, 404, 'the server could not find the requested resource'],
    ['/api/v1/namespaces/lx/configmaps/x/exec', undefined, 404, 'the server could not find the requested resource'],
    ['/api/v1/namespaces/lx/pods/two/exec?container=stopped', undefined, 400, 'container stopped is not running'],
    ['/api/v1/namespaces/lx/pods/two/exec', undefined, 400, 'a container name must be specified for pod two, choose one of: [app stopped]'],
    ['/api/v1/namespaces/lx/pods/done/exec', undefined, 400, 'cannot exec into a container in a completed pod; current phase is Succeeded'],
  ];
  for (const [path, token, code, message] of refusals) {
    const r = await upgrade(b.srv.url, path, token === undefined ? `Bearer ${pki.token}` : token);
    t.equal(r.status, code, path);
    t.match(JSON.parse(r.body), { kind: 'Status', code, message }, path);
  }
  b.fakes.execThrows = true;
  const broken = await upgrade(b.srv.url, '/api/v1/namespaces/lx/pods/one/exec');
  t.match([broken.status, JSON.parse(broken.body)], [500, { reason: 'InternalError', message: /no container runtime/ }]);
  t.equal(b.fakes.execCalls.length, 2);
});

for (const v of ['v1.20', 'v1.32', 'v1.35']) {
  t.test(`watch on ${v}`, async (t) => {
    const b = await boot(t, v);
    b.ns('w');
    b.ns('other');
    const a = b.store.create('core/configmaps', cm('a'), { namespace: 'w' }).object;
    b.store.create('core/configmaps', cm('b', { a: '1' }, { keep: 'no' }), { namespace: 'w' });
    b.store.create('core/configmaps', cm('elsewhere'), { namespace: 'other' });
    const base = '/api/v1/namespaces/w/configmaps';
    // rv unset and "0": the current objects as ADDED, then changes.
    for (const q of ['watch=true', 'watch=1&resourceVersion=0']) {
      const w = await b.stream(`${base}?${q}`);
      t.equal(w.status, 200);
      const initial = await w.until(2);
      t.same(
        initial.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED a', 'ADDED b'],
        q,
      );
      t.match(initial[0].object, { kind: 'ConfigMap', apiVersion: 'v1' });
      w.close();
    }
    const w = await b.stream(`${base}?watch=1&labelSelector=keep!%3Dno`);
    await w.until(1);
    b.store.create('core/configmaps', cm('c'), { namespace: 'w' });
    b.store.create('core/configmaps', cm('x'), { namespace: 'other' });
    b.store.mutate('core/configmaps', 'w', 'c', (o) => void ((o.data as Record<string, string>).a = '2'));
    b.store.delete('core/configmaps', 'w', 'b');
    b.store.delete('core/configmaps', 'w', 'c');
    const evs = await w.until(4);
    t.same(
      evs.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED a', 'ADDED c', 'MODIFIED c', 'DELETED c'],
      'the label selector and namespace filter events',
    );
    // From a resourceVersion: everything after it, in order.
    const from = await b.stream(`${base}?watch=1&resourceVersion=${a.metadata.resourceVersion}`);
    t.same(
      (await from.until(5)).map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED b', 'ADDED c', 'MODIFIED c', 'DELETED b', 'DELETED c'],
    );
    const fields = await b.stream(`/api/v1/configmaps?watch=1&fieldSelector=metadata.name%3Dx`);
    t.same(
      (await fields.until(1)).map((e) => `${e.object.metadata.namespace}/${e.object.metadata.name}`),
      ['other/x'],
    );
    t.match(await b.stream(`${base}?watch=1&resourceVersion=abc`), { status: 400, body: status(400, 'BadRequest', { message: 'invalid resource version "abc"' }) });
    t.match(await b.stream(`${base}?watch=1&labelSelector=a%20b%20c`), { status: 400, body: { reason: 'BadRequest' } });
    // The client leaving stops the server-side watch.
    const watches = (b.srv as any).watches as Set<unknown>;
    const before = watches.size;
    from.close();
    fields.close();
    await waitFor('server-side watches to stop', async () => (watches.size === before - 2 ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    // timeoutSeconds ends the stream.
    const t0 = Date.now();
    const short = await b.stream(`${base}?watch=1&timeoutSeconds=1`);
    await short.ended;
    const ms = Date.now() - t0;
    t.ok(ms >= 900 && ms < 4000, `ended after ${ms} ms`);
    // client-node's Watch against the same stream, including a server-side close.
    const seen: string[] = [];
    let doneErr: unknown = 'not called';
    const done = new Promise<void>((r) => {
      void new k8s.Watch(b.kc).watch(base, { timeoutSeconds: 1 }, (type, obj) => seen.push(`${type} ${obj.metadata.name}`), (err) => {
        doneErr = err;
        r();
      });
    });
    await done;
    t.same(seen, ['ADDED a']);
    t.equal(doneErr, null, 'done without error when the server ends the watch');
  });
}

t.test('watch from a compacted resourceVersion is 410 Gone', async (t) => {
  const b = await boot(t, 'v1.32', { historySize: 3 });
  b.ns('h');
  const first = b.store.create('core/configmaps', cm('c0'), { namespace: 'h' }).object;
  for (let i = 1; i < 6; i++) b.store.create('core/configmaps', cm(`c${i}`), { namespace: 'h' });
  const old = await b.stream(`/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=${first.metadata.resourceVersion}`);
  t.equal(old.status, 410);
  t.match(old.body, status(410, 'Expired', { message: new RegExp(`^too old resource version: ${first.metadata.resourceVersion} \\(\\d+\\)$`) }));
  // Recent enough history still resumes.
  const recent = await b.stream(`/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=${Number(b.store.resourceVersion) - 1}`);
  t.same(
    (await recent.until(1)).map((e) => e.object.metadata.name),
    ['c5'],
  );
  b.store.compact();
  t.equal((await b.stream(`/api/v1/namespaces/h/configmaps?watch=1&resourceVersion=${Number(b.store.resourceVersion) - 1}`)).status, 410);
  // client-node's Watch reports the 410 to done(), which is how informers know to relist.
  const err = await new Promise<any>((r) => void new k8s.Watch(b.kc).watch('/api/v1/namespaces/h/configmaps', { resourceVersion: first.metadata.resourceVersion }, () => undefined, r));
  t.equal(err?.statusCode, 410);
});

t.test('server-side Tables for get, list and watch', async (t) => {
  const b = await boot(t, 'v1.35');
  b.ns('tb');
  b.store.create('core/pods', pod('a'), { namespace: 'tb' });
  b.store.create('core/pods', pod('b'), { namespace: 'tb' });
  const list = await b.call('GET', '/api/v1/namespaces/tb/pods', { accept: `${TABLE}, application/json` });
  t.match(list.json, { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: b.store.resourceVersion } });
  t.equal(list.json.columnDefinitions[0].name, 'Name');
  t.same(
    list.json.rows.map((r: any) => r.cells[0]),
    ['a', 'b'],
  );
  t.match(list.json.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'a' } });
  const full = await b.call('GET', '/api/v1/namespaces/tb/pods?includeObject=Object', { accept: TABLE });
  t.match(full.json.rows[1].object, { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'b' } });
  const one = await b.call('GET', '/api/v1/namespaces/tb/pods/a', { accept: TABLE });
  t.same([one.json.kind, one.json.rows.length, one.json.rows[0].cells[0]], ['Table', 1, 'a']);
  t.equal((await b.call('GET', '/api/v1/namespaces/tb/pods/a')).json.kind, 'Pod', 'plain JSON without the Accept');
  const w = await b.stream('/api/v1/namespaces/tb/pods?watch=1&includeObject=None', { accept: TABLE });
  b.store.create('core/pods', pod('c'), { namespace: 'tb' });
  const evs = await w.until(3);
  t.same(
    evs.map((e) => `${e.type} ${e.object.kind} ${e.object.rows[0].cells[0]}`),
    ['ADDED Table a', 'ADDED Table b', 'ADDED Table c'],
  );
  t.notOk('object' in evs[0].object.rows[0], 'includeObject=None leaves rows bare');
});

t.test('streaming lists (sendInitialEvents)', async (t) => {
  const setup = async (v: string) => {
    const b = await boot(t, v);
    b.ns('sl');
    b.store.create('core/configmaps', cm('a'), { namespace: 'sl' });
    b.store.create('core/configmaps', cm('b'), { namespace: 'sl' });
    return b;
  };
  const base = '/api/v1/namespaces/sl/configmaps';
  for (const v of ['v1.32', 'v1.35']) {
    const b = await setup(v);
    const rv = b.store.resourceVersion;
    const w = await b.stream(`${base}?${STREAMING}&resourceVersion=1`);
    t.equal(w.status, 200, v);
    const initial = await w.until(3);
    t.same(
      initial.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`),
      ['ADDED a', 'ADDED b', 'BOOKMARK '],
    );
    t.same(initial[2].object, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } } });
    b.store.create('core/configmaps', cm('c'), { namespace: 'sl' });
    const next = (await w.until(4))[3];
    t.same([next.type, next.object.metadata.name], ['ADDED', 'c'], 'then changes');
    // The parameters streaming lists require.
    const noBookmarks = await b.stream(`${base}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    t.match(noBookmarks, {
      status: 422,
      body: status(422, 'Invalid', {
        message: 'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true',
        details: { name: '', group: 'meta.k8s.io', kind: 'ListOptions', causes: [{ reason: 'FieldValueForbidden', field: 'allowWatchBookmarks' }] },
      }),
    });
    const noMatch = await b.stream(`${base}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true`);
    t.match(noMatch.body, { code: 422, message: 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
    const neither = await b.stream(`${base}?watch=1&sendInitialEvents=true`);
    t.match(neither.body, { code: 422, message: /^ListOptions\.meta\.k8s\.io "" is invalid: \[allowWatchBookmarks: Forbidden: .*, resourceVersionMatch: Forbidden: .*\]$/ });
    // sendInitialEvents=false is an ordinary watch.
    const plain = await b.stream(`${base}?watch=1&sendInitialEvents=false`);
    t.same(
      (await plain.until(3)).map((e) => e.type),
      ['ADDED', 'ADDED', 'ADDED'],
    );
    // client-node's Watch with the same parameters.
    const seen: string[] = [];
    const ctl = await new k8s.Watch(b.kc).watch(base, { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan' }, (type, obj) => seen.push(`${type} ${obj.metadata?.annotations?.['k8s.io/initial-events-end'] ?? obj.metadata.name}`), () => undefined);
    await waitFor('client-node streaming list', async () => (seen.length >= 4 ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
    ctl.abort();
    t.same(seen, ['ADDED a', 'ADDED b', 'ADDED c', 'BOOKMARK true']);
  }
  // WatchList gate off (1.27): refused the way kubectl expects before falling back to LIST+WATCH.
  const off = await setup('v1.27');
  t.equal(off.p.watchList, 'off');
  const refused = await off.stream(`${base}?${STREAMING}`);
  t.match(refused, {
    status: 422,
    body: status(422, 'Invalid', {
      message: 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
      details: { causes: [{ field: 'sendInitialEvents', reason: 'FieldValueForbidden' }] },
    }),
  });
  // Before 1.27 the parameter does not exist: a plain watch, no initial-events-end bookmark.
  const old = await setup('v1.20');
  t.equal(old.p.watchList, 'absent');
  const w = await old.stream(`${base}?${STREAMING}`);
  t.equal(w.status, 200);
  await w.until(2);
  old.store.create('core/configmaps', cm('c'), { namespace: 'sl' });
  t.same(
    (await w.until(3)).map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED a', 'ADDED b', 'ADDED c'],
    'no bookmark between the initial state and the next change',
  );
});

t.test('client-node informer: list, then watch', async (t) => {
  const b = await boot(t, 'v1.35');
  b.ns('inf');
  b.store.create('core/configmaps', cm('pre'), { namespace: 'inf' });
  const informer = k8s.makeInformer(b.kc, '/api/v1/namespaces/inf/configmaps', () => b.core.listNamespacedConfigMap({ namespace: 'inf' }));
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${(o as k8s.V1ConfigMap).data?.a}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
  const errors: unknown[] = [];
  informer.on('error', (e) => errors.push(e));
  t.teardown(() => informer.stop());
  await informer.start();
  t.same(seen, ['add pre'], 'the initial list');
  await b.core.createNamespacedConfigMap({ namespace: 'inf', body: cm('new') });
  await b.core.patchNamespacedConfigMap({ name: 'new', namespace: 'inf', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await b.core.deleteNamespacedConfigMap({ name: 'pre', namespace: 'inf' });
  await waitFor('informer events', async () => (seen.length >= 4 ? true : undefined), { timeoutMs: 5000, intervalMs: 10 });
  t.same(seen, ['add pre', 'add new', 'update new 2', 'delete pre']);
  t.same(
    informer.list('inf').map((o) => o.metadata?.name),
    ['new'],
  );
  t.same(errors, []);
});
