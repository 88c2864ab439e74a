// kube-api.ts against a tiny fake Kubernetes API server over HTTP: the paths and bodies client-node sends,
// 404 -> undefined, 409 -> 'exists', other errors -> KubeApiError with the code and the server's message, watches.
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { ClientNodeKubeApi, KubeApiError } from './kube-api.js';

interface Seen {
  method: string;
  path: string;
  body?: any;
}

async function fakeApi(t: Test, route: (req: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const s: Seen = { method: req.method!, path: req.url!, ...(text ? { body: JSON.parse(text) } : {}) };
      seen.push(s);
      route(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'tok' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return { api: new ClientNodeKubeApi(kc), seen };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (res: ServerResponse, code: number, reason: string, message: string) => json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

t.test('reads and lists', async (t) => {
  const { api, seen } = await fakeApi(t, (req, res) => {
    if (req.path === '/api/v1/persistentvolumeclaims') return json(res, 200, { kind: 'PersistentVolumeClaimList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'c', namespace: 'n', uid: 'u1' } }] });
    if (req.path === '/api/v1/persistentvolumes') return json(res, 200, { kind: 'PersistentVolumeList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'pv1' } }] });
    if (req.path === '/apis/storage.k8s.io/v1/storageclasses/datera') return json(res, 200, { metadata: { name: 'datera' }, provisioner: 'datera.io/provisioner-datera', parameters: { replica: '2' } });
    if (req.path === '/api/v1/namespaces/datera/secrets/s') return json(res, 200, { metadata: { name: 's' }, type: 'datera/iscsi', data: { username: 'YWRtaW4=' } });
    if (req.path === '/api/v1/persistentvolumes/pv1') return json(res, 200, { metadata: { name: 'pv1' } });
    if (req.path === '/api/v1/namespaces/datera/secrets/broken') return status(res, 403, 'Forbidden', 'secrets "broken" is forbidden: no get for you');
    return status(res, 404, 'NotFound', 'not found');
  });
  t.same((await api.listPvcs()).map((p) => p.metadata?.uid), ['u1']);
  t.same((await api.listPvs()).map((p) => p.metadata?.name), ['pv1']);
  t.match(await api.getStorageClass('datera'), { provisioner: 'datera.io/provisioner-datera', parameters: { replica: '2' } });
  t.equal(await api.getStorageClass('nope'), undefined, '404 -> undefined');
  t.match(await api.getSecret('datera', 's'), { type: 'datera/iscsi', data: { username: 'YWRtaW4=' } });
  t.equal(await api.getSecret('datera', 'gone'), undefined);
  t.match(await api.getPv('pv1'), { metadata: { name: 'pv1' } });
  t.equal(await api.getPv('pv2'), undefined);
  const err = await api.getSecret('datera', 'broken').catch((e: unknown) => e);
  t.ok(err instanceof KubeApiError);
  t.match(err, { code: 403, message: /reading secret datera\/broken: Kubernetes API answered 403: secrets "broken" is forbidden/ });
  t.ok(seen.every((s) => s.method === 'GET'));
});

t.test('writes: PV create/delete, events', async (t) => {
  const pvs = new Set<string>(['old']);
  const { api, seen } = await fakeApi(t, (req, res) => {
    if (req.method === 'POST' && req.path === '/api/v1/persistentvolumes') {
      const name = req.body.metadata.name as string;
      if (name === 'bad') return status(res, 422, 'Invalid', 'PersistentVolume "bad" is invalid: spec.capacity: Required value');
      if (pvs.has(name)) return status(res, 409, 'AlreadyExists', `persistentvolumes "${name}" already exists`);
      pvs.add(name);
      return json(res, 201, req.body);
    }
    const del = /^\/api\/v1\/persistentvolumes\/([^/?]+)/.exec(req.path);
    if (req.method === 'DELETE' && del) {
      if (del[1] === 'locked') return status(res, 500, 'InternalError', 'etcd is down');
      if (!pvs.delete(del[1]!)) return status(res, 404, 'NotFound', 'not found');
      return json(res, 200, { kind: 'Status', status: 'Success' });
    }
    if (req.method === 'POST' && /^\/api\/v1\/namespaces\/[^/]+\/events/.test(req.path)) {
      if (req.body.involvedObject.name === 'denied') return status(res, 403, 'Forbidden', 'events is forbidden');
      return json(res, 201, req.body);
    }
    return status(res, 404, 'NotFound', 'not found');
  });
  const pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-1' }, spec: { capacity: { storage: '1Gi' } } };
  t.equal(await api.createPv(pv), 'created');
  t.equal(await api.createPv(pv), 'exists', '409 -> exists');
  await t.rejects(api.createPv({ metadata: { name: 'bad' } }), { name: 'KubeApiError', code: 422, message: /creating PV bad.*spec.capacity: Required value/ });
  t.match(seen.find((s) => s.method === 'POST')!.body, { metadata: { name: 'pvc-1' }, spec: { capacity: { storage: '1Gi' } } });
  await api.deletePv('pvc-1');
  await api.deletePv('pvc-1');
  t.pass('deleting a PV that is gone is fine');
  await t.rejects(api.deletePv('locked'), { code: 500, message: /etcd is down/ });

  await api.createEvent({ involvedObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'c', namespace: 'app', uid: 'u1' }, type: 'Warning', reason: 'ProvisioningFailed', message: 'no' });
  await api.createEvent({ involvedObject: { apiVersion: 'v1', kind: 'PersistentVolume', name: 'pvc-1' }, type: 'Warning', reason: 'VolumeFailedDelete', message: 'no' });
  const evs = seen.filter((s) => s.path.includes('/events'));
  t.equal(evs[0]!.path, '/api/v1/namespaces/app/events');
  t.match(evs[0]!.body, { metadata: { generateName: 'c.', namespace: 'app' }, involvedObject: { kind: 'PersistentVolumeClaim', uid: 'u1' }, type: 'Warning', reason: 'ProvisioningFailed', source: { component: 'datera.io/provisioner-datera' }, count: 1 });
  t.equal(evs[1]!.path, '/api/v1/namespaces/default/events', 'events about PVs go to default');
  await t.rejects(api.createEvent({ involvedObject: { apiVersion: 'v1', kind: 'PersistentVolume', name: 'denied' }, type: 'Normal', reason: 'X', message: 'y' }), { code: 403 });
});

t.test('watch: events call onChange, the end of the stream calls onEnd once, stop aborts', async (t) => {
  let open: ServerResponse | undefined;
  const { api, seen } = await fakeApi(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
    res.write(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } }) + '\n');
    res.write(JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'a' } } }) + '\n');
    if (req.path.startsWith('/api/v1/persistentvolumes?')) res.end();
    else open = res;
  });
  let changes = 0;
  const ended: unknown[] = [];
  await new Promise<void>((resolve) => {
    void api.watch('pv', () => changes++, (err) => {
      ended.push(err);
      resolve();
    });
  });
  t.equal(changes, 2, 'ADDED and MODIFIED, not BOOKMARK');
  t.equal(ended.length, 1);
  t.match(seen[0]!.path, /^\/api\/v1\/persistentvolumes\?.*watch=true/);

  let pvcChanges = 0;
  let pvcEnded = false;
  const stop = await api.watch('pvc', () => pvcChanges++, () => (pvcEnded = true));
  for (const until = Date.now() + 30_000; Date.now() < until && pvcChanges < 2; ) await new Promise((r) => setTimeout(r, 10));
  t.equal(pvcChanges, 2);
  t.match(seen[1]!.path, /^\/api\/v1\/persistentvolumeclaims\?/);
  stop();
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(pvcEnded, 'stopping is not reported as an end');
  open?.end();
});
