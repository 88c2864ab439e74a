import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterProfile } from '../profiles.js';
import { resourcesFor, type ResourceType } from './resources.js';
import { Store, type Admission, type KObject, type Op, type WatchEvent } from './store.js';
import { ApiError } from './status.js';

const NOW = new Date('2024-01-02T03:04:05.678Z');
const TYPES = resourcesFor(clusterProfile('v1.32'));
// 1.10 serves apps/v1beta1, whose default propagation is Orphan.
const STS_V1BETA1 = resourcesFor(clusterProfile('v1.10')).find((r) => r.kind === 'StatefulSet' && r.version === 'v1beta1')!;

interface Call {
  op: Op;
  kind: string;
  name?: string;
  old?: KObject;
  sub?: string;
}

function mk(opts: { admission?: Admission; historySize?: number; persistDir?: string } = {}) {
  const store = new Store({ types: TYPES, now: () => NOW, ...opts });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  store.create('core/namespaces', { metadata: { name: 'other' } });
  return store;
}

/** An admission that records its calls and returns a warning, so tests can see what the store hands it. */
function recorder() {
  const calls: Call[] = [];
  const admission: Admission = {
    admit(op, rt, obj, old, _store, sub) {
      calls.push({ op, kind: rt.kind, name: obj.metadata.name, old, sub });
      return [`${op} ${rt.kind}`];
    },
  };
  return { calls, admission };
}

const cm = (name: string, ns = 'default', extra: Partial<KObject> = {}): KObject => ({ metadata: { name, namespace: ns }, data: { k: 'v' }, ...extra });
const pod = (name: string, spec: Record<string, unknown> = {}, extra: Partial<KObject> = {}): KObject => ({ metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec }, ...extra });
const sts = (name: string, replicas = 1): KObject => ({ metadata: { name, namespace: 'default' }, spec: { replicas, selector: { matchLabels: { app: name } } } });

function errOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

/** Watch and collect events; events are delivered on setImmediate, so tests await `settle()` before reading. */
function collect(store: Store, key: string, ns: string | undefined, from: string | undefined, opts?: { initialEventsEnd?: boolean }) {
  const events: WatchEvent[] = [];
  const w = store.watch(key, ns, from, (ev) => events.push(ev), opts);
  return { events, w, types: () => events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`) };
}
const settle = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

t.test('types and keys', async (t) => {
  const store = mk();
  t.equal(store.type('core/pods').kind, 'Pod');
  t.equal(store.type('apps/statefulsets').version, 'v1', 'the first (preferred) version of a key wins');
  t.ok(store.keys().includes('storage.k8s.io/storageclasses'));
  const e = errOf(() => store.type('batch/jobs'));
  t.equal(e.code, 404);
  t.equal(e.reason, 'NotFound');
  t.equal(store.timestamp(), '2024-01-02T03:04:05Z', 'RFC 3339 seconds, like metav1.Time');
  t.equal(new Store({ types: TYPES }).resourceVersion, '1');
});

t.test('create', async (t) => {
  const { calls, admission } = recorder();
  const store = mk({ admission });
  const before = Number(store.resourceVersion);
  const r = store.create('core/configmaps', { metadata: { name: 'a', resourceVersion: '99', deletionTimestamp: 'x', deletionGracePeriodSeconds: 3, managedFields: [] } as KObject['metadata'], data: { k: 'v' } }, { namespace: 'default' });
  const o = r.object;
  t.equal(o.apiVersion, 'v1');
  t.equal(o.kind, 'ConfigMap');
  t.equal(o.metadata.namespace, 'default', 'namespace from the request');
  t.match(o.metadata.uid, /^[0-9a-f-]{36}$/);
  t.equal(o.metadata.creationTimestamp, '2024-01-02T03:04:05Z');
  t.equal(o.metadata.resourceVersion, String(before + 1), 'client resourceVersion replaced by the next one');
  t.equal(store.resourceVersion, String(before + 1));
  t.notOk('deletionTimestamp' in o.metadata);
  t.notOk('deletionGracePeriodSeconds' in o.metadata);
  t.notOk('managedFields' in o.metadata);
  t.notOk('generation' in o.metadata, 'ConfigMaps have no generation');
  t.same(r.warnings, ['create ConfigMap'], 'admission warnings are returned');
  t.match(calls.at(-1), { op: 'create', kind: 'ConfigMap', name: 'a', old: undefined });

  // Everything handed out is a copy.
  o.data = { changed: 'yes' };
  t.same(store.get('core/configmaps', 'default', 'a')!.data, { k: 'v' });

  t.equal(store.create('apps/statefulsets', sts('s')).object.metadata.generation, 1, 'StatefulSets start at generation 1');

  t.test('namespaces', async (t) => {
    let e = errOf(() => store.create('core/configmaps', { metadata: { name: 'n' } }));
    t.match(e, { code: 400, reason: 'BadRequest' }, 'namespaced object without a namespace');
    e = errOf(() => store.create('core/configmaps', cm('n', 'default'), { namespace: 'other' }));
    t.match(e, { code: 400, message: /does not match the namespace sent on the request/ });
    e = errOf(() => store.create('core/configmaps', cm('n', 'nope')));
    t.match(e, { code: 404, message: 'namespaces "nope" not found', details: { name: 'nope', kind: 'namespaces' } });
    const pv = store.create('core/persistentvolumes', { metadata: { name: 'pv1', namespace: 'default' }, spec: {} }).object;
    t.notOk('namespace' in pv.metadata, 'cluster-scoped objects drop a namespace');
    t.equal(store.get('core/persistentvolumes', 'whatever', 'pv1')?.metadata.name, 'pv1', 'cluster-scoped get ignores the namespace');
  });

  t.test('terminating namespace is 403 NamespaceTerminating', async (t) => {
    const s = mk();
    s.create('core/namespaces', { metadata: { name: 'doomed' }, spec: { finalizers: ['kubernetes'] } });
    s.delete('core/namespaces', undefined, 'doomed');
    const e = errOf(() => s.create('core/configmaps', cm('x', 'doomed')));
    t.equal(e.code, 403);
    t.equal(e.reason, 'Forbidden');
    t.equal(e.message, 'configmaps "x" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    t.match(e.details, { name: 'x', kind: 'configmaps', causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] });
    const e2 = errOf(() => s.create('apps/statefulsets', { metadata: { generateName: 'web-', namespace: 'doomed' } }));
    t.match(e2.message, /^statefulsets\.apps "web-" is forbidden/);
    t.match(e2.details, { name: 'web-', group: 'apps', kind: 'statefulsets' });
  });

  t.test('names', async (t) => {
    const g = store.create('core/configmaps', { metadata: { generateName: 'gen-', namespace: 'default' } }).object;
    t.match(g.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    let e = errOf(() => store.create('core/configmaps', { metadata: { namespace: 'default' } }));
    t.match(e, { code: 422, reason: 'Invalid', details: { causes: [{ field: 'metadata.name', reason: 'FieldValueRequired' }] } });
    e = errOf(() => store.create('core/configmaps', cm('Bad_Name')));
    t.match(e, { code: 422, message: /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/ });
    e = errOf(() => store.create('core/configmaps', cm('x'.repeat(254))));
    t.equal(e.code, 422, 'names longer than 253 characters');
    e = errOf(() => store.create('core/configmaps', cm('a')));
    t.match(e, { code: 409, reason: 'AlreadyExists', message: 'configmaps "a" already exists' });
    store.create('core/configmaps', cm('a', 'other'));
    t.ok(store.get('core/configmaps', 'other', 'a'), 'the same name in another namespace is another object');
  });

  t.test('dryRun stores nothing', async (t) => {
    const rv = store.resourceVersion;
    const events = collect(store, 'core/configmaps', 'default', rv);
    const r = store.create('core/configmaps', cm('dry'), { dryRun: true });
    t.equal(r.object.metadata.name, 'dry');
    t.notOk(r.object.metadata.resourceVersion);
    t.equal(store.get('core/configmaps', 'default', 'dry'), undefined);
    t.equal(store.resourceVersion, rv);
    await settle();
    t.same(events.events, []);
    events.w.stop();
  });

  t.test('admission errors abort the create', async (t) => {
    const s = mk({
      admission: {
        admit(op, _rt, obj) {
          if (op === 'create' && obj.metadata.name === 'no') throw new ApiError(422, 'Invalid', 'rejected');
        },
      },
    });
    t.match(errOf(() => s.create('core/configmaps', cm('no'))), { code: 422, message: 'rejected' });
    t.equal(s.get('core/configmaps', 'default', 'no'), undefined);
    t.same(s.create('core/configmaps', cm('yes')).warnings, [], 'no warnings when admission returns none');
  });
});

t.test('get, mustGet and list', async (t) => {
  const store = mk();
  store.create('core/configmaps', cm('b', 'default', { metadata: { name: 'b', namespace: 'default', labels: { app: 'x', tier: 'db' } } }));
  store.create('core/configmaps', cm('a', 'default', { metadata: { name: 'a', namespace: 'default', labels: { app: 'y' } } }));
  store.create('core/configmaps', cm('a', 'other'));
  t.equal(store.get('core/configmaps', 'default', 'zzz'), undefined);
  t.match(errOf(() => store.mustGet('core/configmaps', 'default', 'zzz')), { code: 404, message: 'configmaps "zzz" not found', details: { name: 'zzz', kind: 'configmaps' } });
  t.match(errOf(() => store.mustGet('apps/statefulsets', 'default', 'zzz')), { message: 'statefulsets.apps "zzz" not found', details: { group: 'apps' } });
  t.equal(store.mustGet('core/configmaps', 'other', 'a').metadata.namespace, 'other');

  const names = (l: { items: KObject[] }) => l.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  t.same(names(store.list('core/configmaps')), ['default/a', 'default/b', 'other/a'], 'all namespaces, sorted by namespace/name');
  t.same(names(store.list('core/configmaps', 'other')), ['other/a']);
  t.same(names(store.list('core/configmaps', undefined, { labelSelector: [{ key: 'app', op: 'in', values: ['x', 'z'] }] })), ['default/b']);
  t.same(names(store.list('core/configmaps', undefined, { labelSelector: [{ key: 'app', op: 'exists' }] })), ['default/a', 'default/b']);
  t.same(names(store.list('core/configmaps', undefined, { fieldSelector: [{ field: 'metadata.namespace', op: '!=', value: 'default' }] })), ['other/a']);
  t.same(names(store.list('core/configmaps', undefined, { fieldSelector: [{ field: 'metadata.name', op: '=', value: 'a' }], labelSelector: [{ key: 'app', op: '=', value: 'y' }] })), ['default/a']);
  t.equal(store.list('core/configmaps').resourceVersion, store.resourceVersion);
  t.same(store.list('core/secrets').items, []);
  // Namespaces are cluster-scoped: the namespace argument does not filter them.
  t.same(
    store.list('core/namespaces', 'default').items.map((o) => o.metadata.name),
    ['default', 'other'],
  );
  const l = store.list('core/configmaps');
  l.items[0]!.metadata.labels = { hacked: 'yes' };
  t.same(store.get('core/configmaps', 'default', 'a')!.metadata.labels, { app: 'y' }, 'list hands out copies');
  const all = [...store.all()];
  t.same(all.filter((x) => x.key === 'core/configmaps').length, 3);
  all[0]!.object.metadata.name = 'changed';
  t.notOk([...store.all()].some((x) => x.object.metadata.name === 'changed'), 'all() hands out copies');
});

t.test('update', async (t) => {
  const { calls, admission } = recorder();
  const store = mk({ admission });
  const a = store.create('core/configmaps', cm('a')).object;

  t.test('errors', async (t) => {
    t.match(errOf(() => store.update('core/configmaps', { metadata: {} } as KObject)), { code: 422, details: { causes: [{ field: 'metadata.name' }] } });
    t.match(errOf(() => store.update('core/configmaps', cm('missing'))), { code: 404, message: 'configmaps "missing" not found' });
    t.match(errOf(() => store.update('core/configmaps', cm('a', 'other'), { namespace: 'default' })), { code: 400, message: /does not match the namespace/ });
    const stale = errOf(() => store.update('core/configmaps', { ...a, data: { k: 'w' }, metadata: { ...a.metadata, resourceVersion: '1' } }));
    t.equal(stale.code, 409);
    t.equal(stale.reason, 'Conflict');
    t.equal(stale.message, 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again');
    t.same(stale.details, { name: 'a', kind: 'configmaps' });
    const uid = errOf(() => store.update('core/configmaps', { ...a, metadata: { ...a.metadata, uid: 'other-uid' } }));
    t.match(uid, { code: 409, message: /Precondition failed: UID in precondition: other-uid, UID in object meta: / });
  });

  t.test('writes, system fields and events', async (t) => {
    const w = collect(store, 'core/configmaps', 'default', store.resourceVersion);
    const r = store.update('core/configmaps', { ...a, data: { k: 'w' }, metadata: { ...a.metadata, uid: '', creationTimestamp: '1999-01-01T00:00:00Z', generation: 7, labels: { l: '1' } } });
    t.equal(r.object.data && (r.object.data as Record<string, string>).k, 'w');
    t.equal(r.object.metadata.uid, a.metadata.uid, 'uid cannot change');
    t.equal(r.object.metadata.creationTimestamp, a.metadata.creationTimestamp, 'creationTimestamp cannot change');
    t.notOk('generation' in r.object.metadata, 'clients cannot set generation (rest.BeforeUpdate)');
    t.same(r.object.metadata.labels, { l: '1' });
    t.equal(r.object.metadata.resourceVersion, store.resourceVersion);
    t.not(r.object.metadata.resourceVersion, a.metadata.resourceVersion);
    t.same(r.warnings, ['update ConfigMap']);
    t.match(calls.at(-1), { op: 'update', kind: 'ConfigMap', old: { data: { k: 'v' } }, sub: undefined });
    // Unconditional update: no resourceVersion (or an empty one) skips the conflict check.
    const u = store.update('core/configmaps', { metadata: { name: 'a', namespace: 'default', resourceVersion: '' }, data: { k: 'x' } });
    t.same(u.object.data, { k: 'x' });
    await settle();
    t.same(w.types(), ['MODIFIED a', 'MODIFIED a']);
    t.equal(w.events[1]!.object.metadata.resourceVersion, u.object.metadata.resourceVersion);
    w.w.stop();
  });

  t.test('no-op updates keep the resourceVersion and send no event', async (t) => {
    const cur = store.get('core/configmaps', 'default', 'a')!;
    const w = collect(store, 'core/configmaps', undefined, store.resourceVersion);
    const rv = store.resourceVersion;
    const r = store.update('core/configmaps', cur);
    t.equal(r.object.metadata.resourceVersion, cur.metadata.resourceVersion);
    t.equal(store.resourceVersion, rv);
    // A pod that never had a status, updated with the same content, is a no-op too.
    const p = store.create('core/pods', pod('p')).object;
    const w2 = collect(store, 'core/pods', undefined, store.resourceVersion);
    const rv2 = store.resourceVersion;
    t.equal(store.update('core/pods', p).object.metadata.resourceVersion, p.metadata.resourceVersion);
    t.equal(store.update('core/pods', p, { sub: 'status' }).object.metadata.resourceVersion, p.metadata.resourceVersion, 'status write of nothing');
    t.equal(store.resourceVersion, rv2);
    await settle();
    t.same(w.events, []);
    t.same(w2.events, []);
    w.w.stop();
    w2.w.stop();
  });

  t.test('dryRun', async (t) => {
    const cur = store.get('core/configmaps', 'default', 'a')!;
    const r = store.update('core/configmaps', { ...cur, data: { dry: 'run' } }, { dryRun: true });
    t.same(r.object.data, { dry: 'run' });
    t.same(store.get('core/configmaps', 'default', 'a')!.data, cur.data);
    t.equal(store.get('core/configmaps', 'default', 'a')!.metadata.resourceVersion, cur.metadata.resourceVersion);
  });
});

t.test('status subresource and generation', async (t) => {
  const { calls, admission } = recorder();
  const store = mk({ admission });
  const s = store.create('apps/statefulsets', { ...sts('web'), status: { replicas: 9 } }).object;
  t.equal(s.metadata.generation, 1);

  // The main resource ignores status.
  let r = store.update('apps/statefulsets', { ...s, spec: { ...(s.spec as object), replicas: 3 }, status: { replicas: 5 } }).object;
  t.equal(r.metadata.generation, 2, 'spec change bumps generation');
  t.same(r.status, { replicas: 9 }, 'status comes from the stored object');

  // Label-only change: new resourceVersion, same generation.
  r = store.update('apps/statefulsets', { ...r, metadata: { ...r.metadata, labels: { x: 'y' } } }).object;
  t.equal(r.metadata.generation, 2, 'metadata changes do not bump generation');
  t.same(r.metadata.labels, { x: 'y' });

  // Status writes change only status.
  const rvBefore = r.metadata.resourceVersion;
  const st = store.update('apps/statefulsets', { ...r, metadata: { ...r.metadata, labels: { ignored: 'yes' } }, spec: { replicas: 100 }, status: { replicas: 3, readyReplicas: 3 } }, { sub: 'status' }).object;
  t.same(st.status, { replicas: 3, readyReplicas: 3 });
  t.equal((st.spec as { replicas: number }).replicas, 3, 'spec untouched by a status write');
  t.same(st.metadata.labels, { x: 'y' }, 'metadata untouched by a status write');
  t.equal(st.metadata.generation, 2, 'status writes never bump generation');
  t.not(st.metadata.resourceVersion, rvBefore);
  t.equal(calls.at(-1)!.sub, 'status', 'admission sees the subresource');

  // Kinds outside the generation set: no generation at all.
  const cmObj = store.create('core/configmaps', cm('c')).object;
  t.notOk('generation' in store.update('core/configmaps', { ...cmObj, data: { other: '1' } }).object.metadata);

  // PVC: status split, generation only bumped when it has one.
  const pvc = store.create('core/persistentvolumeclaims', { metadata: { name: 'claim', namespace: 'default' }, spec: { volumeName: '' }, status: { phase: 'Pending' } }).object;
  const pvc2 = store.update('core/persistentvolumeclaims', { ...pvc, spec: { volumeName: 'pv1' }, status: { phase: 'Bound' } }).object;
  t.same(pvc2.status, { phase: 'Pending' });
  t.same(pvc2.spec, { volumeName: 'pv1' });
  t.notOk('generation' in pvc2.metadata);
});

t.test('namespace update and finalize', async (t) => {
  const store = mk();
  const ns = store.create('core/namespaces', { metadata: { name: 'n' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }).object;
  // The main resource keeps spec and status.
  const u = store.update('core/namespaces', { ...ns, metadata: { ...ns.metadata, labels: { a: 'b' } }, spec: { finalizers: [] }, status: { phase: 'Other' } }).object;
  t.same(u.spec, { finalizers: ['kubernetes'] });
  t.same(u.status, { phase: 'Active' });
  t.same(u.metadata.labels, { a: 'b' });

  const d = store.delete('core/namespaces', undefined, 'n');
  t.equal(d.deleted, false, 'spec.finalizers keep the namespace');
  t.equal((d.object.status as { phase: string }).phase, 'Terminating');
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 0);

  // A metadata update of a terminating namespace must not delete it while spec.finalizers remain
  // (ShouldDeleteNamespaceDuringUpdate).
  const cur = store.get('core/namespaces', undefined, 'n')!;
  store.update('core/namespaces', { ...cur, metadata: { ...cur.metadata, labels: { c: 'd' } } });
  t.ok(store.get('core/namespaces', undefined, 'n'), 'still there after a label change');
  t.equal(store.delete('core/namespaces', undefined, 'n').deleted, false, 'deleting again changes nothing');

  // finalize only touches spec.finalizers; with none left the namespace goes.
  const w = collect(store, 'core/namespaces', undefined, store.resourceVersion);
  const fin = store.get('core/namespaces', undefined, 'n')!;
  store.update('core/namespaces', { ...fin, metadata: { ...fin.metadata, labels: { ignored: 'x' } }, spec: {} }, { sub: 'finalize' });
  t.equal(store.get('core/namespaces', undefined, 'n'), undefined);
  await settle();
  t.same(w.types(), ['DELETED n']);
  t.same(w.events[0]!.object.spec, { finalizers: [] });
  w.w.stop();
});

t.test('finalizers on update', async (t) => {
  const store = mk();
  store.create('core/configmaps', { ...cm('f'), metadata: { name: 'f', namespace: 'default', finalizers: ['example.com/keep'] } });
  const d = store.delete('core/configmaps', 'default', 'f');
  t.equal(d.deleted, false);
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
  const cur = store.get('core/configmaps', 'default', 'f')!;
  const e = errOf(() => store.update('core/configmaps', { ...cur, metadata: { ...cur.metadata, finalizers: ['example.com/keep', 'example.com/new'] } }));
  t.match(e, { code: 422, message: /no new finalizers can be added if the object is being deleted, found new finalizers \["example.com\/new"\]/ });
  // deletionTimestamp cannot be cleared by an update.
  const u = store.update('core/configmaps', { ...cur, metadata: { ...cur.metadata, deletionTimestamp: undefined, labels: { a: 'b' } } }).object;
  t.equal(u.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
  t.equal(u.metadata.deletionGracePeriodSeconds, 0);
  const w = collect(store, 'core/configmaps', 'default', store.resourceVersion);
  const r = store.update('core/configmaps', { ...u, metadata: { ...u.metadata, finalizers: [] } });
  t.equal(store.get('core/configmaps', 'default', 'f'), undefined, 'removing the last finalizer deletes the object');
  t.equal(r.object.metadata.resourceVersion, store.resourceVersion);
  await settle();
  t.same(w.types(), ['DELETED f']);
  w.w.stop();
  // A client cannot set deletionTimestamp through an update either.
  store.create('core/configmaps', cm('g'));
  const g = store.get('core/configmaps', 'default', 'g')!;
  t.notOk('deletionTimestamp' in store.update('core/configmaps', { ...g, metadata: { ...g.metadata, deletionTimestamp: 'x', deletionGracePeriodSeconds: 5 } }).object.metadata);
});

t.test('pod deletion waits for the kubelet when graceful', async (t) => {
  const store = mk();
  // Scheduled pod, no grace given: the spec's terminationGracePeriodSeconds, default 30.
  store.create('core/pods', pod('p', { nodeName: 'n1' }));
  let d = store.delete('core/pods', 'default', 'p');
  t.equal(d.deleted, false);
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 30);
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:35Z', 'now + grace');
  // An update that changes something keeps the pod (grace > 0), with its deletion fields.
  const cur = store.get('core/pods', 'default', 'p')!;
  const u = store.update('core/pods', { ...cur, metadata: { ...cur.metadata, labels: { a: 'b' } } }).object;
  t.equal(u.metadata.deletionGracePeriodSeconds, 30);
  t.ok(store.get('core/pods', 'default', 'p'));
  // A longer grace does not extend it; a shorter one shortens it.
  d = store.delete('core/pods', 'default', 'p', { gracePeriodSeconds: 60 });
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 30);
  t.equal(d.object.metadata.resourceVersion, u.metadata.resourceVersion, 'nothing changed: no new resourceVersion');
  d = store.delete('core/pods', 'default', 'p', { gracePeriodSeconds: 5 });
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 5);
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:10Z');
  // The kubelet's final delete.
  d = store.delete('core/pods', 'default', 'p', { gracePeriodSeconds: 0 });
  t.equal(d.deleted, true);
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:10Z', 'keeps the graceful deletionTimestamp');
  t.equal(store.get('core/pods', 'default', 'p'), undefined);

  store.create('core/pods', pod('q', { nodeName: 'n1', terminationGracePeriodSeconds: 7 }));
  t.equal(store.delete('core/pods', 'default', 'q').object.metadata.deletionGracePeriodSeconds, 7);
  store.create('core/pods', pod('r', { nodeName: 'n1' }));
  t.equal(store.delete('core/pods', 'default', 'r', { gracePeriodSeconds: 2 }).object.metadata.deletionGracePeriodSeconds, 2);

  // Never scheduled, or terminal: deleted at once.
  store.create('core/pods', pod('unscheduled'));
  d = store.delete('core/pods', 'default', 'unscheduled');
  t.equal(d.deleted, true);
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 0);
  t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
  for (const phase of ['Succeeded', 'Failed']) {
    store.create('core/pods', pod(phase.toLowerCase(), { nodeName: 'n1' }, { status: { phase } }));
    t.equal(store.delete('core/pods', 'default', phase.toLowerCase()).deleted, true, `${phase} pods go at once`);
  }

  // A pod with a finalizer and grace 0: deletionTimestamp only, gone once the finalizer is removed.
  store.create('core/pods', pod('fin', {}, { metadata: { name: 'fin', namespace: 'default', finalizers: ['x/y'] } }));
  d = store.delete('core/pods', 'default', 'fin');
  t.equal(d.deleted, false);
  t.equal(d.object.metadata.deletionGracePeriodSeconds, 0);
  store.mutate('core/pods', 'default', 'fin', (o) => {
    o.metadata.finalizers = [];
  });
  t.equal(store.get('core/pods', 'default', 'fin'), undefined);

  // Graceful pod with a finalizer: removing the finalizer does not delete it while grace remains.
  store.create('core/pods', pod('both', { nodeName: 'n1' }, { metadata: { name: 'both', namespace: 'default', finalizers: ['x/y'] } }));
  store.delete('core/pods', 'default', 'both');
  store.mutate('core/pods', 'default', 'both', (o) => {
    o.metadata.finalizers = [];
  });
  t.ok(store.get('core/pods', 'default', 'both'), 'waits for the kubelet');
});

t.test('delete options', async (t) => {
  const { calls, admission } = recorder();
  const store = mk({ admission });

  t.test('errors and preconditions', async (t) => {
    t.match(errOf(() => store.delete('core/configmaps', 'default', 'none')), { code: 404, message: 'configmaps "none" not found' });
    const o = store.create('core/configmaps', cm('pre')).object;
    t.match(errOf(() => store.delete('core/configmaps', 'default', 'pre', { preconditions: { uid: 'bad' } })), {
      code: 409,
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: bad, UID in object meta: ${o.metadata.uid}`,
    });
    t.match(errOf(() => store.delete('core/configmaps', 'default', 'pre', { preconditions: { resourceVersion: '1' } })), {
      code: 409,
      message: `Operation cannot be fulfilled on configmaps "pre": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${o.metadata.resourceVersion}`,
    });
    t.match(errOf(() => store.delete('core/configmaps', 'default', 'pre', { orphanDependents: true, propagationPolicy: 'Background' })), { code: 422, message: /orphanDependents and deletionPropagation cannot be both set/ });
    t.ok(store.get('core/configmaps', 'default', 'pre'), 'failed deletes change nothing');
    const w = collect(store, 'core/configmaps', 'default', store.resourceVersion);
    const d = store.delete('core/configmaps', 'default', 'pre', { preconditions: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion } });
    t.equal(d.deleted, true);
    t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
    t.equal(d.object.metadata.deletionGracePeriodSeconds, 0);
    t.equal(d.object.metadata.resourceVersion, store.resourceVersion, 'the DELETED event carries a new resourceVersion');
    t.match(calls.at(-1), { op: 'delete', kind: 'ConfigMap', name: 'pre', old: { metadata: { name: 'pre' } } });
    await settle();
    t.same(w.types(), ['DELETED pre']);
    t.equal(w.events[0]!.object.metadata.resourceVersion, d.object.metadata.resourceVersion);
    w.w.stop();
  });

  t.test('propagationPolicy finalizers', async (t) => {
    store.create('core/configmaps', cm('fg'));
    let d = store.delete('core/configmaps', 'default', 'fg', { propagationPolicy: 'Foreground' });
    t.equal(d.deleted, false);
    t.same(d.object.metadata.finalizers, ['foregroundDeletion']);
    t.equal(d.object.metadata.deletionTimestamp, '2024-01-02T03:04:05Z');
    // Switching to Orphan replaces the finalizer; to Background drops both (deletionFinalizersForGarbageCollection).
    d = store.delete('core/configmaps', 'default', 'fg', { propagationPolicy: 'Orphan' });
    t.same(d.object.metadata.finalizers, ['orphan']);
    d = store.delete('core/configmaps', 'default', 'fg', { propagationPolicy: 'Foreground' });
    t.same(d.object.metadata.finalizers, ['foregroundDeletion']);
    d = store.delete('core/configmaps', 'default', 'fg', { propagationPolicy: 'Background' });
    t.equal(d.deleted, true, 'Background on a foreground deletion drops foregroundDeletion and the object goes');

    store.create('core/configmaps', { ...cm('or'), metadata: { name: 'or', namespace: 'default', finalizers: ['example.com/x'] } });
    d = store.delete('core/configmaps', 'default', 'or', { orphanDependents: true });
    t.same(d.object.metadata.finalizers, ['example.com/x', 'orphan']);
    const rv = d.object.metadata.resourceVersion;
    d = store.delete('core/configmaps', 'default', 'or', { propagationPolicy: 'Orphan' });
    t.equal(d.object.metadata.resourceVersion, rv, 'a repeated delete that changes nothing writes nothing');
    d = store.delete('core/configmaps', 'default', 'or', { orphanDependents: false });
    t.same(d.object.metadata.finalizers, ['example.com/x'], 'orphanDependents=false drops orphan, keeps others');
    t.equal(d.deleted, false);
    // With no policy, a terminating object keeps whatever it has.
    d = store.delete('core/configmaps', 'default', 'or');
    t.same(d.object.metadata.finalizers, ['example.com/x']);
  });

  t.test('default propagation', async (t) => {
    t.equal(store.defaultPropagation(store.type('apps/statefulsets')), 'Background');
    t.equal(store.defaultPropagation(STS_V1BETA1), 'Orphan');
    t.equal(store.defaultPropagation(store.type('core/configmaps')), 'Background');
    // apps/v1beta1 with dependents: orphan finalizer; without: gone at once.
    const owner = store.create('apps/statefulsets', sts('owner')).object;
    store.create('core/configmaps', { ...cm('dep'), metadata: { name: 'dep', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'owner', uid: owner.metadata.uid! }] } });
    let d = store.delete('apps/statefulsets', 'default', 'owner', {}, STS_V1BETA1);
    t.equal(d.deleted, false);
    t.same(d.object.metadata.finalizers, ['orphan']);
    store.create('apps/statefulsets', sts('lonely'));
    d = store.delete('apps/statefulsets', 'default', 'lonely', {}, STS_V1BETA1);
    t.equal(d.deleted, true);
    // apps/v1 with dependents: Background, no finalizer.
    const owner2 = store.create('apps/statefulsets', sts('owner2')).object;
    store.create('core/configmaps', { ...cm('dep2'), metadata: { name: 'dep2', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'owner2', uid: owner2.metadata.uid! }] } });
    t.equal(store.delete('apps/statefulsets', 'default', 'owner2').deleted, true);
  });

  t.test('dryRun', async (t) => {
    store.create('core/configmaps', cm('dry'));
    store.create('core/configmaps', cm('dryfg'));
    store.create('core/pods', pod('drypod', { nodeName: 'n' }));
    const rv = store.resourceVersion;
    t.equal(store.delete('core/configmaps', 'default', 'dry', { dryRun: ['All'] }).deleted, true);
    const fg = store.delete('core/configmaps', 'default', 'dryfg', { dryRun: ['All'], propagationPolicy: 'Foreground' });
    t.equal(fg.deleted, false);
    t.same(fg.object.metadata.finalizers, ['foregroundDeletion']);
    t.equal(store.delete('core/pods', 'default', 'drypod', { dryRun: ['All'] }).deleted, false, 'a graceful pod would stay');
    t.equal(store.resourceVersion, rv);
    t.ok(store.get('core/configmaps', 'default', 'dry'));
    t.notOk(store.get('core/configmaps', 'default', 'dryfg')!.metadata.finalizers);
    t.notOk(store.get('core/pods', 'default', 'drypod')!.metadata.deletionTimestamp);
  });
});

t.test('mutate', async (t) => {
  const store = mk();
  t.equal(
    store.mutate('core/configmaps', 'default', 'missing', () => {
      throw new Error('not called');
    }),
    undefined,
  );
  const o = store.create('core/configmaps', cm('m')).object;
  const same = store.mutate('core/configmaps', 'default', 'm', () => false);
  t.equal(same!.metadata.resourceVersion, o.metadata.resourceVersion, 'false leaves the object alone');
  const changed = store.mutate('core/configmaps', 'default', 'm', (x) => {
    x.data = { k: 'changed' };
  });
  t.same(changed!.data, { k: 'changed' });
  t.same(store.get('core/configmaps', 'default', 'm')!.data, { k: 'changed' });

  // A concurrent writer makes the first attempt conflict; mutate re-reads and retries.
  let attempts = 0;
  const r = store.mutate('core/configmaps', 'default', 'm', (x) => {
    attempts++;
    if (attempts === 1) store.update('core/configmaps', { ...store.get('core/configmaps', 'default', 'm')!, data: { k: 'concurrent' } });
    x.data = { ...(x.data as object), mine: 'yes' };
  });
  t.equal(attempts, 2);
  t.same(r!.data, { k: 'concurrent', mine: 'yes' }, 'the retry starts from the concurrent write');

  // Always conflicting: gives up with a 500.
  let n = 0;
  const e = errOf(() =>
    store.mutate('core/configmaps', 'default', 'm', (x) => {
      n++;
      store.update('core/configmaps', { ...store.get('core/configmaps', 'default', 'm')!, data: { n: String(n) } });
      x.data = {};
    }),
  );
  t.match(e, { code: 500, reason: 'InternalError', message: 'too many conflicts updating core/configmaps default/m' });
  t.equal(n, 5);

  // Other errors propagate at once.
  let calls = 0;
  const e2 = errOf(() =>
    store.mutate('core/configmaps', 'default', 'm', (x) => {
      calls++;
      x.metadata.name = undefined;
    }),
  );
  t.equal(e2.code, 422);
  t.equal(calls, 1);

  // Status subresource through mutate.
  store.create('core/pods', pod('mp'));
  const mp = store.mutate(
    'core/pods',
    'default',
    'mp',
    (p) => {
      p.status = { phase: 'Running' };
      p.spec = {};
    },
    'status',
  );
  t.same(mp!.status, { phase: 'Running' });
  t.ok((mp!.spec as { containers: unknown[] }).containers, 'spec untouched through status');
});

t.test('watch', async (t) => {
  const store = mk();
  store.create('core/configmaps', cm('b'));
  store.create('core/configmaps', cm('a'));
  store.create('core/configmaps', cm('c', 'other'));
  const start = store.resourceVersion;

  t.test('from undefined, "" and "0": ADDED for the current state, then changes', async (t) => {
    for (const from of [undefined, '', '0']) {
      const w = collect(store, 'core/configmaps', undefined, from);
      t.equal(w.w.resourceVersion, store.resourceVersion);
      t.same(w.events, [], 'delivery is asynchronous');
      await settle();
      t.same(w.types(), ['ADDED a', 'ADDED b', 'ADDED c'], `from ${JSON.stringify(from)}`);
      w.w.stop();
    }
    const ns = collect(store, 'core/configmaps', 'default', undefined);
    await settle();
    t.same(ns.types(), ['ADDED a', 'ADDED b'], 'namespace filter');
    store.create('core/configmaps', cm('d', 'other'));
    store.create('core/configmaps', cm('e'));
    await settle();
    t.same(ns.types(), ['ADDED a', 'ADDED b', 'ADDED e'], 'later events are filtered by namespace too');
    ns.w.stop();
    store.delete('core/configmaps', 'default', 'e');
    store.delete('core/configmaps', 'other', 'd');
  });

  t.test('initialEventsEnd bookmark', async (t) => {
    const w = collect(store, 'core/configmaps', 'default', undefined, { initialEventsEnd: true });
    await settle();
    t.same(w.types(), ['ADDED a', 'ADDED b', 'BOOKMARK ']);
    t.same(w.events[2]!.object.metadata, { resourceVersion: store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } });
    w.w.stop();
    const empty = collect(store, 'core/secrets', undefined, '0', { initialEventsEnd: true });
    await settle();
    t.same(empty.types(), ['BOOKMARK '], 'an empty list still ends with the bookmark');
    empty.w.stop();
    const resumed = collect(store, 'core/configmaps', undefined, store.resourceVersion, { initialEventsEnd: true });
    await settle();
    t.same(resumed.events, [], 'no bookmark when resuming from a resourceVersion');
    resumed.w.stop();
  });

  t.test('from a resourceVersion: history after it', async (t) => {
    const w = collect(store, 'core/configmaps', undefined, start);
    await settle();
    t.same(w.types(), ['ADDED d', 'ADDED e', 'DELETED e', 'DELETED d']);
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    t.same(
      rvs,
      [...rvs].sort((x, y) => x - y),
      'in resourceVersion order',
    );
    t.ok(rvs[0]! > Number(start));
    w.w.stop();
    const ns = collect(store, 'core/configmaps', 'other', start);
    const pods = collect(store, 'core/pods', undefined, start);
    await settle();
    t.same(ns.types(), ['ADDED d', 'DELETED d']);
    t.same(pods.events, [], 'other resources are not replayed');
    ns.w.stop();
    pods.w.stop();
    t.match(errOf(() => store.watch('core/configmaps', undefined, 'abc', () => {})), { code: 400, message: 'invalid resource version "abc"' });
    t.match(errOf(() => store.watch('core/configmaps', undefined, '-1', () => {})), { code: 400 });
  });

  t.test('410 Gone once compacted', async (t) => {
    const s = mk();
    s.create('core/configmaps', cm('x'));
    const old = String(Number(s.resourceVersion) - 1);
    s.compact();
    const e = errOf(() => s.watch('core/configmaps', undefined, old, () => {}));
    t.equal(e.code, 410);
    t.equal(e.reason, 'Expired');
    t.match(e.message, /^too old resource version: /);
    // The current resourceVersion is still watchable.
    const w = collect(s, 'core/configmaps', undefined, s.resourceVersion);
    s.create('core/configmaps', cm('y'));
    await settle();
    t.same(w.types(), ['ADDED y']);
    w.w.stop();
  });

  t.test('a bounded history compacts itself', async (t) => {
    const s = mk({ historySize: 3 });
    const from = s.resourceVersion;
    for (const n of ['h1', 'h2', 'h3', 'h4']) s.create('core/configmaps', cm(n));
    t.match(errOf(() => s.watch('core/configmaps', undefined, from, () => {})), { code: 410 });
    const w = collect(s, 'core/configmaps', undefined, String(Number(s.resourceVersion) - 3));
    await settle();
    t.same(w.types(), ['ADDED h2', 'ADDED h3', 'ADDED h4'], 'the oldest kept resourceVersion still resumes');
    w.w.stop();
  });

  t.test('stop and failing watchers', async (t) => {
    const s = mk();
    const seen: string[] = [];
    const bad = s.watch('core/configmaps', undefined, s.resourceVersion, () => {
      throw new Error('watcher bug');
    });
    const good = collect(s, 'core/configmaps', undefined, s.resourceVersion);
    const stopped = collect(s, 'core/configmaps', undefined, s.resourceVersion);
    s.watch('core/configmaps', undefined, s.resourceVersion, (ev) => seen.push(ev.type)).stop();
    s.create('core/configmaps', cm('one'));
    stopped.w.stop(); // queued but not yet delivered: dropped
    s.create('core/configmaps', cm('two'));
    await settle();
    t.same(good.types(), ['ADDED one', 'ADDED two'], 'a throwing watcher does not break the others');
    t.same(stopped.events, []);
    t.same(seen, []);
    bad.stop();
    good.w.stop();
    s.create('core/configmaps', cm('three'));
    await settle();
    t.equal(good.events.length, 2, 'nothing after stop');
    good.events[0]!.object.metadata.name = 'mutated';
    t.ok(s.get('core/configmaps', 'default', 'one'), 'events carry copies');
  });
});

t.test('persistence', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dkc-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = mk({ persistDir: dir });
  a.create('core/configmaps', cm('kept'));
  a.create('core/persistentvolumes', { metadata: { name: 'pv' }, spec: {} });
  // Debounced write: shortly after the change the file appears.
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.ok(existsSync(join(dir, 'state.json')));
  t.equal(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).resourceVersion, Number(a.resourceVersion));
  a.create('core/configmaps', cm('late'));
  a.flush(); // explicit flush (shutdown) writes at once
  const rv = a.resourceVersion;

  const b = new Store({ types: TYPES, persistDir: dir });
  t.equal(b.resourceVersion, rv, 'the resourceVersion counter continues');
  t.equal(b.get('core/configmaps', 'default', 'kept')?.metadata.uid, a.get('core/configmaps', 'default', 'kept')?.metadata.uid);
  t.ok(b.get('core/configmaps', 'default', 'late'));
  t.ok(b.get('core/persistentvolumes', undefined, 'pv'));
  t.match(errOf(() => b.watch('core/configmaps', undefined, String(Number(rv) - 1), () => {})), { code: 410 }, 'history does not survive a restart');
  const next = b.create('core/configmaps', cm('after')).object;
  t.equal(Number(next.metadata.resourceVersion), Number(rv) + 1);
  b.flush();

  // A store without persistDir: flush is a no-op, and a missing state file is a fresh start.
  const c = new Store({ types: TYPES });
  c.flush();
  const empty = mkdtempSync(join(tmpdir(), 'dkc-store-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const d = new Store({ types: TYPES, persistDir: join(empty, 'sub') });
  t.equal(d.resourceVersion, '1');
  t.same(d.list('core/namespaces').items, []);
});

t.test('unknown resource types are 404 for every verb', async (t) => {
  const store = mk();
  const rt: ResourceType = { ...store.type('core/configmaps'), storageKey: 'nope/things' };
  t.equal(errOf(() => store.get('nope/things', 'default', 'x')).code, 404);
  t.equal(errOf(() => store.list('nope/things')).code, 404);
  t.equal(errOf(() => store.create('nope/things', cm('x'))).code, 404);
  t.equal(errOf(() => store.watch('nope/things', undefined, undefined, () => {})).code, 404);
  // delete with an explicit type still looks the object up under the key.
  t.equal(errOf(() => store.delete('nope/things', 'default', 'x', {}, rt)).code, 404);
});
