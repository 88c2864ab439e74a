// The provisioner against an in-memory fake of the Kubernetes API (enough for list/get/create/delete and events)
// and the real mock Datera API (REST only, no targets): what it creates on the DSP and in the cluster, and what
// it refuses, with the events a user would read.
import t, { type Test } from 'tap';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Secret, V1StorageClass } from '@kubernetes/client-node';
import { MockDatera, type StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import { Backend } from '../flexvolume/backend.js';
import { ANN_PROVISIONED_BY, ANN_STORAGE_PROVISIONER, PROVISIONER_NAME, Provisioner, quantityBytes, requestGiB, type EventSpec, type KubeApi, type ProvisionerOptions } from './provisioner.js';

const PASSWORD = 'pw-s3cret-value';

class FakeKube implements KubeApi {
  pvcs = new Map<string, V1PersistentVolumeClaim>();
  pvs = new Map<string, V1PersistentVolume>();
  classes = new Map<string, V1StorageClass>();
  secrets = new Map<string, V1Secret>();
  events: EventSpec[] = [];
  calls: string[] = [];
  watchers: { kind: string; onChange: () => void; onEnd: (err?: unknown) => void }[] = [];
  failEvents = false;

  async listPvcs() {
    return structuredClone([...this.pvcs.values()]);
  }
  async listPvs() {
    return structuredClone([...this.pvs.values()]);
  }
  async getStorageClass(name: string) {
    return structuredClone(this.classes.get(name));
  }
  async getSecret(ns: string, name: string) {
    return structuredClone(this.secrets.get(`${ns}/${name}`));
  }
  async getPv(name: string) {
    return structuredClone(this.pvs.get(name));
  }
  async createPv(pv: V1PersistentVolume) {
    this.calls.push(`createPv ${pv.metadata!.name}`);
    if (this.pvs.has(pv.metadata!.name!)) return 'exists' as const;
    this.pvs.set(pv.metadata!.name!, { ...structuredClone(pv), status: { phase: 'Available' } });
    return 'created' as const;
  }
  async deletePv(name: string) {
    this.calls.push(`deletePv ${name}`);
    this.pvs.delete(name);
  }
  async createEvent(ev: EventSpec) {
    if (this.failEvents) throw new Error('events are forbidden');
    this.events.push(ev);
  }
  async watch(kind: 'pvc' | 'pv', onChange: () => void, onEnd: (err?: unknown) => void) {
    const w = { kind, onChange, onEnd };
    this.watchers.push(w);
    return () => {
      this.watchers = this.watchers.filter((x) => x !== w);
    };
  }

  addClass(name: string, parameters: Record<string, string>, reclaimPolicy = 'Delete', provisioner = PROVISIONER_NAME) {
    this.classes.set(name, { metadata: { name }, provisioner, parameters, reclaimPolicy });
  }
  addSecret(ns: string, name: string, data: Record<string, string>, type = 'datera/iscsi') {
    this.secrets.set(`${ns}/${name}`, { metadata: { namespace: ns, name }, type, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
  }
  addPvc(name: string, className: string, opts: { storage?: string; uid?: string; annotate?: string | null; accessModes?: string[]; ns?: string } = {}) {
    const uid = opts.uid ?? `0000-${name}`;
    const ann: Record<string, string> = opts.annotate === null ? {} : { [ANN_STORAGE_PROVISIONER]: opts.annotate ?? PROVISIONER_NAME };
    const pvc: V1PersistentVolumeClaim = {
      metadata: { name, namespace: opts.ns ?? 'app', uid, annotations: ann },
      spec: { storageClassName: className, accessModes: opts.accessModes ?? ['ReadWriteOnce'], resources: { requests: { storage: opts.storage ?? '5Gi' } } },
      status: { phase: 'Pending' },
    };
    this.pvcs.set(uid, pvc);
    return pvc;
  }
  /** What the PV controller would do when the claim goes away: the PV it was bound to becomes Released. */
  deletePvc(uid: string) {
    this.pvcs.delete(uid);
    const pv = this.pvs.get(`pvc-${uid}`);
    if (pv) pv.status = { phase: 'Released' };
  }
}

async function setup(t: Test, opts: Partial<ProvisionerOptions> = {}) {
  const mock: StartedMockDatera = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'none', users: { admin: PASSWORD } }).start();
  t.teardown(() => mock.stop());
  const kube = new FakeKube();
  kube.addSecret('datera', 'datera-secret', { username: 'admin', password: PASSWORD, server: mock.server });
  kube.addClass('datera', { secretName: 'datera-secret', secretNamespace: 'datera', replica: '2', maxIops: '500', maxBW: '2048', fsType: 'ext4' });
  const logs: string[] = [];
  const log = { info: (m: string, f?: object) => logs.push(JSON.stringify({ m, ...f })), warn: (m: string, f?: object) => logs.push(JSON.stringify({ m, ...f })), error: (m: string, f?: object) => logs.push(JSON.stringify({ m, ...f })), child: () => log };
  const p = new Provisioner({ kube, backoffMs: 0, log, datera: (c, tenant) => new Backend(c, tenant, 500), ...opts });
  const ais = async (tenant = '/root') => (await mock.snapshot()).state.tenants[tenant]!.app_instances;
  return { mock, kube, p, ais, logs };
}

t.test('quantities round up to whole GiB, at least 1', async (t) => {
  t.equal(quantityBytes('1Gi'), 2 ** 30);
  t.equal(quantityBytes('1.5G'), 1.5e9);
  t.equal(quantityBytes('1e9'), 1e9);
  t.equal(quantityBytes('100'), 100);
  t.equal(quantityBytes('ten'), undefined);
  const req = (s?: string) => requestGiB({ spec: { resources: s ? { requests: { storage: s } } : {} } });
  t.equal(req('5Gi'), 5);
  t.equal(req('5G'), 5);
  t.equal(req('5.1Gi'), 6);
  t.equal(req('100Mi'), 1);
  t.equal(req(undefined), 1);
  t.throws(() => req('lots'), /not a quantity/);
});

t.test('a claim of our class gets a Datera volume and a pre-bound PV', async (t) => {
  const { kube, p, ais, logs } = await setup(t);
  const pvc = kube.addPvc('data', 'datera', { storage: '4500Mi', uid: 'a1b2c3d4-0000-4000-8000-000000000001' });
  const r = await p.reconcileOnce();
  t.same(r, { provisioned: ['app/data'], deleted: [], failed: [] });
  const ai = (await ais())[`k8s-pvc-${pvc.metadata!.uid}`];
  t.ok(ai, 'app_instance k8s-pvc-<uid> exists');
  const vol = ai!.storage_instances[0]!.volumes[0]!;
  t.equal(vol.size, 5, '4500Mi rounds up to 5 GiB');
  t.equal(vol.replica_count, 2);
  t.equal(vol.performance_policy.total_iops_max, 500);
  t.equal(vol.performance_policy.total_bandwidth_max, 2048);
  const pv = kube.pvs.get(`pvc-${pvc.metadata!.uid}`)!;
  t.ok(pv, 'PV pvc-<uid> exists');
  t.equal(pv.metadata!.annotations![ANN_PROVISIONED_BY], PROVISIONER_NAME);
  t.same(pv.spec!.capacity, { storage: '5Gi' });
  t.same(pv.spec!.accessModes, ['ReadWriteOnce']);
  t.equal(pv.spec!.storageClassName, 'datera');
  t.equal(pv.spec!.persistentVolumeReclaimPolicy, 'Delete');
  t.same(pv.spec!.claimRef, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'app', name: 'data', uid: pvc.metadata!.uid });
  t.same(pv.spec!.flexVolume, {
    driver: 'datera/iscsi',
    fsType: 'ext4',
    secretRef: { name: 'datera-secret', namespace: 'datera' },
    options: { volumeID: `k8s-pvc-${pvc.metadata!.uid}`, size: '5', replica: '2', maxIops: '500', maxBW: '2048' },
  });
  t.match(kube.events, [{ type: 'Normal', reason: 'ProvisioningSucceeded', involvedObject: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'app' } }]);
  t.notMatch(logs.join('\n'), PASSWORD, 'the password is never logged');
  t.notMatch(JSON.stringify(kube.pvs.get(`pvc-${pvc.metadata!.uid}`)), PASSWORD, 'nor put into the PV');
});

t.test('idempotent: a second pass, and a pass after a crash between AI create and PV create', async (t) => {
  const { kube, p, ais, mock } = await setup(t);
  const pvc = kube.addPvc('one', 'datera');
  await p.reconcileOnce();
  mock.clearRequests();
  t.same(await p.reconcileOnce(), { provisioned: [], deleted: [], failed: [] }, 'nothing to do once the PV exists');
  t.same(
    mock.requests().filter((r) => r.method === 'POST'),
    [],
    'no Datera create on the second pass',
  );
  t.equal(Object.keys(await ais()).length, 1);

  // Crash: the AI was created, the PV never was.
  kube.pvs.delete(`pvc-${pvc.metadata!.uid}`);
  const fresh = new Provisioner({ kube, backoffMs: 0 });
  t.same((await fresh.reconcileOnce()).provisioned, ['app/one']);
  t.equal(Object.keys(await ais()).length, 1, 'the app_instance was found again, not duplicated');
  t.ok(kube.pvs.has(`pvc-${pvc.metadata!.uid}`));
  t.notOk(
    mock.requests().some((r) => r.method === 'POST' && r.path.startsWith('/app_instances') && r.status < 300),
    'no second app_instance create succeeded',
  );
});

t.test('templates: the volume comes from the template, the PV says so', async (t) => {
  const { kube, p, ais } = await setup(t);
  kube.addClass('tpl', { secretName: 'datera-secret', secretNamespace: 'datera', template: 'mysql', ipPool: 'default', placementMode: 'hybrid', tenant: '/root' }, 'Retain');
  const pvc = kube.addPvc('db', 'tpl', { storage: '2Gi' });
  t.same((await p.reconcileOnce()).provisioned, ['app/db']);
  const ai = (await ais())[`k8s-pvc-${pvc.metadata!.uid}`]!;
  t.equal(ai.app_template, 'mysql');
  const pv = kube.pvs.get(`pvc-${pvc.metadata!.uid}`)!;
  t.equal(pv.spec!.persistentVolumeReclaimPolicy, 'Retain');
  t.match(pv.spec!.flexVolume!.options, { template: 'mysql', ipPool: 'default', placementMode: 'hybrid', tenant: '/root', size: '2' });

  // A template smaller than the claim: refused, and the too-small volume removed again.
  const big = kube.addPvc('big', 'tpl', { storage: '10Gi' });
  const r = await p.reconcileOnce();
  t.same(r.failed, ['app/big']);
  t.match(kube.events.at(-1), { type: 'Warning', reason: 'ProvisioningFailed', message: /template mysql gives a 2 GiB volume, the claim asks for 10 GiB/ });
  t.notOk((await ais())[`k8s-pvc-${big.metadata!.uid}`]);
});

t.test('released PVs: Delete removes the app_instance and the PV, Retain keeps both', async (t) => {
  const { kube, p, ais, mock } = await setup(t);
  kube.addClass('keep', { secretName: 'datera-secret', secretNamespace: 'datera' }, 'Retain');
  const del = kube.addPvc('del', 'datera');
  const keep = kube.addPvc('keep', 'keep');
  await p.reconcileOnce();
  t.equal(Object.keys(await ais()).length, 2);

  kube.deletePvc(del.metadata!.uid!);
  kube.deletePvc(keep.metadata!.uid!);
  const r = await p.reconcileOnce();
  t.same(r.deleted, [`pvc-${del.metadata!.uid}`]);
  t.notOk(kube.pvs.has(`pvc-${del.metadata!.uid}`), 'Delete: PV gone');
  t.notOk((await ais())[`k8s-pvc-${del.metadata!.uid}`], 'Delete: app_instance gone');
  t.equal(kube.pvs.get(`pvc-${keep.metadata!.uid}`)?.status?.phase, 'Released', 'Retain: PV kept, Released');
  t.ok((await ais())[`k8s-pvc-${keep.metadata!.uid}`], 'Retain: app_instance kept');

  // Backend already gone (a crash after the DSP delete): the PV still goes.
  const again = kube.addPvc('again', 'datera');
  await p.reconcileOnce();
  await new Backend({ server: mock.server, user: 'admin', password: PASSWORD, source: 'test' }, '/root').destroy(`k8s-pvc-${again.metadata!.uid}`);
  kube.deletePvc(again.metadata!.uid!);
  t.same((await p.reconcileOnce()).deleted, [`pvc-${again.metadata!.uid}`]);
  t.notOk(kube.pvs.has(`pvc-${again.metadata!.uid}`));
});

t.test('a failing backend delete gives VolumeFailedDelete and is retried', async (t) => {
  const { kube, p, ais, mock } = await setup(t);
  const pvc = kube.addPvc('x', 'datera');
  await p.reconcileOnce();
  kube.deletePvc(pvc.metadata!.uid!);
  mock.injectFault({ method: 'DELETE', path: '^/app_instances', status: 500, name: 'InternalError', message: 'disk on fire' });
  const r = await p.reconcileOnce();
  t.same(r.failed, [`pvc-${pvc.metadata!.uid}`]);
  t.match(kube.events.at(-1), { type: 'Warning', reason: 'VolumeFailedDelete', involvedObject: { kind: 'PersistentVolume', name: `pvc-${pvc.metadata!.uid}` }, message: /InternalError.*disk on fire/ });
  t.ok(kube.pvs.has(`pvc-${pvc.metadata!.uid}`), 'PV kept while the backend delete fails');
  mock.clearFaults();
  t.same((await p.reconcileOnce()).deleted, [`pvc-${pvc.metadata!.uid}`], 'retried');
  t.same(Object.keys(await ais()), []);
});

t.test('claims that are not ours are left alone', async (t) => {
  const { kube, p, ais } = await setup(t);
  kube.addClass('other', { secretName: 'datera-secret' }, 'Delete', 'kubernetes.io/no-provisioner');
  kube.addPvc('other', 'other');
  kube.addPvc('noclass', '');
  kube.addPvc('missing-class', 'nope');
  kube.addPvc('not-annotated', 'datera', { annotate: null });
  kube.addPvc('someone-else', 'datera', { annotate: 'example.com/other' });
  const bound = kube.addPvc('bound', 'datera');
  bound.spec!.volumeName = 'pv-x';
  bound.status = { phase: 'Bound' };
  // Another provisioner's released PV.
  kube.pvs.set('foreign', { metadata: { name: 'foreign', annotations: { [ANN_PROVISIONED_BY]: 'example.com/other' } }, spec: { persistentVolumeReclaimPolicy: 'Delete' }, status: { phase: 'Released' } });
  t.same(await p.reconcileOnce(), { provisioned: [], deleted: [], failed: [] });
  t.same(Object.keys(await ais()), []);
  t.same(kube.events, []);
  t.ok(kube.pvs.has('foreign'));

  // Where nobody sets the annotation, a class match is enough when configured so.
  const loose = new Provisioner({ kube, backoffMs: 0, requireProvisionerAnnotation: false });
  kube.classes.get('datera')!.volumeBindingMode = 'WaitForFirstConsumer';
  t.same((await loose.reconcileOnce()).provisioned, [], 'WaitForFirstConsumer: not before a node is selected');
  kube.pvcs.get('0000-not-annotated')!.metadata!.annotations = { 'volume.kubernetes.io/selected-node': 'node-1' };
  t.same((await loose.reconcileOnce()).provisioned, ['app/not-annotated']);
});

t.test('bad parameters: a Warning event that names them, no app_instance, the claim stays Pending', async (t) => {
  const { kube, p, ais } = await setup(t);
  const cases: [string, Record<string, string>, RegExp, { accessModes?: string[] }?][] = [
    ['unknown', { secretName: 'datera-secret', secretNamespace: 'datera', replicas: '3', speed: 'fast' }, /unknown parameters replicas, speed; known parameters: size, replica, template/],
    ['replica', { secretName: 'datera-secret', secretNamespace: 'datera', replica: '9' }, /replica="9" is not valid: an integer 1-5/],
    ['fstype', { secretName: 'datera-secret', secretNamespace: 'datera', fsType: 'X F S' }, /fsType="X F S" is not valid/],
    ['retain', { secretName: 'datera-secret', secretNamespace: 'datera', retainPolicy: 'never' }, /retainPolicy="never" is not valid/],
    ['nosecret', {}, /has no secretName parameter/],
    ['rwx', { secretName: 'datera-secret', secretNamespace: 'datera' }, /access mode ReadWriteMany is not supported/, { accessModes: ['ReadWriteMany'] }],
  ];
  for (const [name, params, , extra] of cases) {
    kube.addClass(name, params);
    kube.addPvc(name, name, extra);
  }
  const r = await p.reconcileOnce();
  t.equal(r.failed.length, cases.length);
  for (const [name, , re] of cases) {
    const ev = kube.events.find((e) => e.involvedObject.name === name);
    t.match(ev, { type: 'Warning', reason: 'ProvisioningFailed', message: re }, name);
  }
  t.same(Object.keys(await ais()), [], 'no app_instance');
  t.same(kube.pvs.size, 0, 'no PV');

  // Level-triggered retries do not repeat the same event.
  const n = kube.events.length;
  await p.reconcileOnce();
  t.equal(kube.events.length, n, 'the same event is not repeated');
});

t.test('credentials: bad ones name AuthFailedError, a missing secret is named', async (t) => {
  const { kube, p, ais, mock } = await setup(t);
  const server = mock.server;
  kube.addSecret('datera', 'wrong', { username: 'admin', password: 'not-the-password', server });
  kube.addSecret('datera', 'opaque', { username: 'admin', password: PASSWORD, server }, 'Opaque');
  kube.addSecret('datera', 'partial', { username: 'admin', server });
  kube.addClass('wrong', { secretName: 'wrong', secretNamespace: 'datera' });
  kube.addClass('gone', { secretName: 'nope', secretNamespace: 'datera' });
  kube.addClass('opaque', { secretName: 'opaque', secretNamespace: 'datera' });
  kube.addClass('partial', { secretName: 'partial' });
  for (const c of ['wrong', 'gone', 'opaque', 'partial']) kube.addPvc(c, c);
  await p.reconcileOnce();
  const msg = (name: string) => kube.events.find((e) => e.involvedObject.name === name)?.message ?? '';
  t.match(msg('wrong'), /AuthFailedError/);
  t.notMatch(msg('wrong'), /not-the-password/, 'no secret in the event');
  t.match(msg('gone'), /secret datera\/nope not found/);
  t.match(msg('opaque'), /has type Opaque; it must be of type datera\/iscsi/);
  t.match(msg('partial'), /secret datera\/partial has no password key/, 'secretNamespace defaults to datera');
  t.same(Object.keys(await ais()), []);
});

t.test('failures back off; events that cannot be written do not fail the pass', async (t) => {
  const { kube, p } = await setup(t, { backoffMs: 60_000 });
  kube.addClass('gone', { secretName: 'nope', secretNamespace: 'datera' });
  kube.addPvc('c', 'gone');
  kube.failEvents = true;
  const now = Date.now();
  t.same((await p.reconcileOnce(now)).failed, ['app/c']);
  t.same((await p.reconcileOnce(now + 1000)).failed, [], 'waiting out the backoff');
  t.same((await p.reconcileOnce(now + 61_000)).failed, ['app/c'], 'retried after the backoff');
  t.same((await p.reconcileOnce(now + 62_000)).failed, [], 'backoff doubled');
  kube.pvcs.clear();
  t.same((await p.reconcileOnce(now + 500_000)).failed, []);
});

t.test('start: watches and resync trigger passes; stop ends them', async (t) => {
  const { kube, p } = await setup(t, { resyncMs: 20, rewatchMs: 10 });
  await p.start();
  t.equal(kube.watchers.length, 2, 'PVC and PV watches');
  const pvc = kube.addPvc('live', 'datera');
  kube.watchers[0]!.onChange();
  // A watch that ends is started again.
  const w = kube.watchers[1]!;
  kube.watchers = kube.watchers.filter((x) => x !== w);
  w.onEnd(new Error('connection reset'));
  for (const until = Date.now() + 30_000; Date.now() < until && (!kube.pvs.has(`pvc-${pvc.metadata!.uid}`) || kube.watchers.length < 2); ) await new Promise((r) => setTimeout(r, 20));
  t.ok(kube.pvs.has(`pvc-${pvc.metadata!.uid}`), 'provisioned from a watch event');
  t.equal(kube.watchers.length, 2, 'the ended watch was restarted');
  await p.stop();
  t.equal(kube.watchers.length, 0, 'watches stopped');
});

t.test('an unreadable class or a failing list does not stop the rest; passwords echoed by errors are scrubbed', async (t) => {
  const { kube, p, mock, logs } = await setup(t);
  const c = kube.addPvc('c', 'datera');
  await p.reconcileOnce();
  kube.deletePvc(c.metadata!.uid!);
  kube.addPvc('other', 'datera');
  const getStorageClass = kube.getStorageClass.bind(kube);
  kube.getStorageClass = async () => {
    throw new Error('storageclasses is forbidden');
  };
  const r = await p.reconcileOnce();
  t.same(r, { provisioned: [], deleted: [`pvc-${c.metadata!.uid}`], failed: [] }, 'the released PV is still deleted');
  t.match(logs.join('\n'), /cannot read StorageClass.*storageclasses is forbidden/);
  kube.getStorageClass = getStorageClass;

  mock.injectFault({ method: 'POST', path: '^/app_instances', status: 500, name: 'InternalError', message: `cannot parse ${PASSWORD}` });
  t.same((await p.reconcileOnce()).failed, ['app/other']);
  const ev = kube.events.at(-1)!;
  t.match(ev, { reason: 'ProvisioningFailed', message: /InternalError \(HTTP 500\).*cannot parse \[redacted\]/ });
  t.notMatch(ev.message + logs.join('\n'), PASSWORD);
  mock.clearFaults();

  kube.listPvcs = async () => {
    throw new Error('apiserver down');
  };
  t.same(await p.trigger(), { provisioned: [], deleted: [], failed: ['(pass)'] });
  t.match(logs.at(-1), /reconcile pass failed.*apiserver down/);
});

t.test('a PV create that fails after the app_instance was made is retried without a second app_instance', async (t) => {
  const { kube, p, ais, mock } = await setup(t);
  const pvc = kube.addPvc('crash', 'datera');
  const createPv = kube.createPv.bind(kube);
  kube.createPv = async () => {
    throw new Error('connection refused');
  };
  t.same((await p.reconcileOnce()).failed, ['app/crash']);
  t.match(kube.events.at(-1), { reason: 'ProvisioningFailed', message: /connection refused/ });
  t.equal(Object.keys(await ais()).length, 1, 'the app_instance was made');
  kube.createPv = createPv;
  mock.clearRequests();
  t.same((await p.reconcileOnce()).provisioned, ['app/crash']);
  t.equal(Object.keys(await ais()).length, 1, 'and found again');
  t.notOk(mock.requests().some((r) => r.method === 'POST' && r.path.startsWith('/app_instances')), 'no second create');
  t.ok(kube.pvs.has(`pvc-${pvc.metadata!.uid}`));
});

t.test('released PVs that cannot be deleted say why', async (t) => {
  const { kube, p } = await setup(t);
  const base = (name: string, spec: V1PersistentVolume['spec']): V1PersistentVolume => ({
    metadata: { name, annotations: { [ANN_PROVISIONED_BY]: PROVISIONER_NAME } },
    spec: { persistentVolumeReclaimPolicy: 'Delete', ...spec },
    status: { phase: 'Released' },
  });
  kube.pvs.set('nosecret', base('nosecret', { flexVolume: { driver: 'datera/iscsi', secretRef: { name: 'gone', namespace: 'datera' }, options: { volumeID: 'k8s-x' } } }));
  kube.pvs.set('noref', base('noref', { flexVolume: { driver: 'datera/iscsi' } }));
  kube.pvs.set('nfs', base('nfs', { nfs: { server: 'x', path: '/' } }));
  const r = await p.reconcileOnce();
  t.same(r.failed.sort(), ['nfs', 'noref', 'nosecret']);
  const msg = (name: string) => kube.events.find((e) => e.involvedObject.name === name)?.message;
  t.match(msg('nosecret'), /secret datera\/gone not found/);
  t.match(msg('noref'), /no flexVolume.secretRef/);
  t.match(msg('nfs'), /no datera\/iscsi flexVolume source/);
  t.ok(kube.events.every((e) => e.reason === 'VolumeFailedDelete' && e.involvedObject.kind === 'PersistentVolume'));
  t.equal(kube.pvs.size, 3, 'all kept');
});

t.test('a watch that cannot start is retried; triggers during a pass run one more pass', async (t) => {
  const { kube, p } = await setup(t, { resyncMs: 60_000, rewatchMs: 10 });
  const watch = kube.watch.bind(kube);
  let refused = 0;
  kube.watch = async (kind, onChange, onEnd) => {
    if (kind === 'pv' && refused++ === 0) throw new Error('watch refused');
    return watch(kind, onChange, onEnd);
  };
  await p.start();
  for (const until = Date.now() + 30_000; Date.now() < until && kube.watchers.length < 2; ) await new Promise((r) => setTimeout(r, 10));
  t.equal(kube.watchers.length, 2, 'both watches run after a retry');
  const first = p.trigger();
  kube.addPvc('late', 'datera');
  const second = p.trigger();
  t.equal(second, first, 'a trigger during a pass joins it');
  await first;
  t.ok(kube.pvs.size === 1, 'the claim added during the pass was provisioned by the extra pass');
  await p.stop();
});
