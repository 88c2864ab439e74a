import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject, type WatchEvent } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, informer, involved, objectKey, splitKey, WorkQueue } from './framework.js';

function newStore(version = 'v1.32') {
  const profile = clusterProfile(version);
  const clock = { ms: Date.parse('2030-01-01T00:00:00Z') };
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile), now: () => new Date(clock.ms) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  return { store, clock };
}

/** A promise with its resolver, to hold a handler in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

t.test('WorkQueue: arrival order, deduplication while waiting, re-add while running', async (t) => {
  const seen: string[] = [];
  const hold = gate();
  const q = new WorkQueue(async (k) => {
    seen.push(k);
    if (k === 'a' && seen.length === 1) await hold.promise;
  });
  t.teardown(() => q.stop());
  q.add('a');
  // 'a' is running: these wait, duplicates collapse, and 'a' itself may queue again.
  q.add('b');
  q.add('c');
  q.add('b');
  q.add('a');
  q.add('a');
  hold.open();
  await q.idle();
  t.same(seen, ['a', 'b', 'c', 'a'], 'b once, a again after its first run');
  await q.idle();
  t.same(seen, ['a', 'b', 'c', 'a'], 'idle on an empty queue resolves at once');
});

t.test('WorkQueue: a failing key is retried with backoff, reported, and reset by a success', async (t) => {
  const runs: number[] = [];
  const errors: [string, string][] = [];
  let failures = 2;
  const q = new WorkQueue(
    (k) => {
      runs.push(Date.now());
      if (failures-- > 0) throw new Error(`boom ${k}`);
    },
    (k, err) => errors.push([k, (err as Error).message]),
  );
  t.teardown(() => q.stop());
  q.add('x');
  await waitFor('third run', async () => (runs.length >= 3 ? true : undefined), { timeoutMs: 3000, intervalMs: 20 });
  t.same(errors, [
    ['x', 'boom x'],
    ['x', 'boom x'],
  ]);
  // 200 ms, then 400 ms (timer slack allowed below, never above a wide margin).
  t.ok(runs[1]! - runs[0]! >= 190 && runs[1]! - runs[0]! < 390, `first retry after ~200 ms (${runs[1]! - runs[0]!})`);
  t.ok(runs[2]! - runs[1]! >= 390, `second retry after ~400 ms (${runs[2]! - runs[1]!})`);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(runs.length, 3, 'a success ends the retries');
});

t.test('WorkQueue: the backoff doubles up to 10 s, and restarts after a success', async (t) => {
  // Capture the delays the queue asks for instead of waiting them out.
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  const fake = ((fn: () => void, ms: number) => {
    delays.push(ms);
    return realSetTimeout(fn, 0);
  }) as unknown as typeof setTimeout;
  globalThis.setTimeout = fake;
  t.teardown(() => void (globalThis.setTimeout = realSetTimeout));
  let calls = 0;
  const q = new WorkQueue(() => {
    calls++;
    // Fail 8 times, succeed; when added again fail once, then succeed.
    if (calls <= 8 || calls === 10) throw new Error('no');
  });
  t.teardown(() => q.stop());
  // Poll with setImmediate: waitFor's own sleeps would go through the fake too.
  const until = async (n: number) => {
    for (let i = 0; i < 100_000 && calls < n; i++) await new Promise((r) => setImmediate(r));
  };
  q.add('k');
  await until(9);
  q.add('k');
  await until(11);
  globalThis.setTimeout = realSetTimeout;
  t.equal(calls, 11);
  t.same(delays, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 200], 'doubling from 200 ms, capped at 10 s; a success starts over');
});

t.test('WorkQueue: requeueAfter, a throwing error handler, stop', async (t) => {
  const seen: string[] = [];
  const q = new WorkQueue(
    (k) => {
      seen.push(k);
      if (k === 'bad') throw new Error('x');
    },
    () => {
      throw new Error('the logger itself fails');
    },
  );
  q.requeueAfter('later', 30);
  await q.idle();
  t.same(seen, [], 'not yet');
  await waitFor('later ran', async () => (seen.includes('later') ? true : undefined), { timeoutMs: 2000, intervalMs: 10 });
  q.add('bad');
  q.add('good');
  await q.idle();
  t.same(seen, ['later', 'bad', 'good'], 'a failing onError does not wedge the queue');
  q.requeueAfter('never', 20);
  q.stop();
  q.add('after-stop');
  q.requeueAfter('after-stop-2', 1);
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen.filter((k) => k !== 'bad'), ['later', 'good'], 'stop cancels timers (and the retry of bad) and refuses new keys');
});

t.test('WorkQueue: stop while keys wait; idle settles', async (t) => {
  const seen: string[] = [];
  const hold = gate();
  const q = new WorkQueue(async (k) => {
    seen.push(k);
    await hold.promise;
  });
  q.add('a');
  q.add('b');
  const idle = q.idle();
  q.stop();
  hold.open();
  t.equal(await Promise.race([idle, new Promise((r) => setTimeout(() => r('hung'), 1000))]), undefined, 'waiters released when the running handler returns');
  t.same(seen, ['a'], 'b dropped by stop');
  t.equal(await Promise.race([q.idle(), new Promise((r) => setTimeout(() => r('hung'), 1000))]), undefined, 'a stopped queue is idle');
  const q2 = new WorkQueue(() => undefined);
  const w = q2.idle();
  q2.stop();
  t.equal(await w, undefined);
});

t.test('objectKey and splitKey', async (t) => {
  t.equal(objectKey({ metadata: { name: 'p', namespace: 'ns' } }), 'ns/p');
  t.equal(objectKey({ metadata: { name: 'pv1' } }), 'pv1');
  t.same(splitKey('ns/p'), { namespace: 'ns', name: 'p' });
  t.same(splitKey('pv1'), { namespace: undefined, name: 'pv1' });
});

t.test('informer: existing objects first, then changes, until stopped', async (t) => {
  const { store } = newStore();
  store.create('core/configmaps', { metadata: { name: 'old', namespace: 'default' } });
  const events: string[] = [];
  const stop = informer(store, 'core/configmaps', (ev: WatchEvent) => events.push(`${ev.type} ${ev.object.metadata.name}`));
  store.create('core/configmaps', { metadata: { name: 'new', namespace: 'default' } });
  store.delete('core/configmaps', 'default', 'old');
  await waitFor('three events', async () => (events.length >= 3 ? true : undefined), { timeoutMs: 2000, intervalMs: 5 });
  t.same(events, ['ADDED old', 'ADDED new', 'DELETED old']);
  stop();
  store.create('core/configmaps', { metadata: { name: 'unseen', namespace: 'default' } });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(events.length, 3, 'nothing after stop');
});

t.test('involved: the object reference an event points at', async (t) => {
  const { store } = newStore();
  const p = store.create('core/pods', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } }).object;
  t.same(involved(p, 'spec.containers{c}'), { kind: 'Pod', apiVersion: 'v1', name: 'p', namespace: 'default', uid: p.metadata.uid, resourceVersion: p.metadata.resourceVersion, fieldPath: 'spec.containers{c}' });
  t.same(involved({ metadata: { name: 'bare' } }), { kind: '', name: 'bare' }, 'absent fields are left out');
});

type Ev = KObject & { involvedObject: Record<string, unknown>; reason: string; message: string; type: string; count: number; firstTimestamp: string; lastTimestamp: string; source: Record<string, unknown> };

t.test('EventRecorder: an event like client-go writes, repeats counted', async (t) => {
  const { store, clock } = newStore();
  const rec = new EventRecorder(store);
  const p = store.create('core/pods', { metadata: { name: 'web-0', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } }).object;
  const t0 = store.timestamp();
  rec.record(p, 'Warning', 'FailedScheduling', 'no nodes', { component: 'default-scheduler' });
  let evs = store.list('core/events', 'default').items as Ev[];
  t.equal(evs.length, 1);
  const e = evs[0]!;
  t.match(e.metadata.name, /^web-0\.[0-9a-f]{16}$/, 'name <object>.<hex>');
  t.match(e, {
    involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'default', uid: p.metadata.uid },
    reason: 'FailedScheduling',
    message: 'no nodes',
    type: 'Warning',
    count: 1,
    firstTimestamp: t0,
    lastTimestamp: t0,
    source: { component: 'default-scheduler' },
    reportingComponent: 'default-scheduler',
    reportingInstance: '',
    eventTime: null,
  });

  clock.ms += 5000;
  rec.record(p, 'Warning', 'FailedScheduling', 'no nodes', { component: 'default-scheduler' });
  evs = store.list('core/events', 'default').items as Ev[];
  t.equal(evs.length, 1, 'a repeat is the same event');
  t.equal(evs[0]!.count, 2);
  t.equal(evs[0]!.firstTimestamp, t0);
  t.equal(evs[0]!.lastTimestamp, store.timestamp(), 'lastTimestamp moves');

  // Anything in client-go's event key that differs makes a new event.
  rec.record(p, 'Warning', 'FailedScheduling', '0/1 nodes are available', { component: 'default-scheduler' });
  rec.record(p, 'Normal', 'FailedScheduling', 'no nodes', { component: 'default-scheduler' });
  rec.record(p, 'Warning', 'FailedScheduling', 'no nodes', { component: 'kubelet', host: 'n1' });
  rec.record(involved(p, 'spec.containers{c}'), 'Warning', 'FailedScheduling', 'no nodes', { component: 'default-scheduler' });
  rec.record({ ...involved(p), kind: 'Other' }, 'Warning', 'FailedScheduling', 'no nodes', { component: 'default-scheduler' });
  evs = store.list('core/events', 'default').items as Ev[];
  t.equal(evs.length, 6, 'message, type, source, fieldPath and kind each separate events');
  t.equal(evs.find((x) => x.source.host === 'n1')?.reportingInstance, 'n1');

  // about(): this object's events, oldest first; a uid narrows it.
  clock.ms += 5000;
  const p2 = store.create('core/pods', { metadata: { name: 'web-1', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } }).object;
  rec.record(p2, 'Normal', 'Scheduled', 'ok', { component: 'default-scheduler' });
  const about = rec.about({ name: 'web-0', namespace: 'default', uid: p.metadata.uid! });
  t.equal(about.length, 6);
  t.equal(about[0]!.firstTimestamp, t0, 'oldest first');
  t.same(rec.about({ name: 'web-1', namespace: 'default' }).map((x) => x.reason), ['Scheduled']);
  t.same(rec.about({ name: 'web-1', namespace: 'default', uid: 'other' }), []);
});

t.test('EventRecorder: cluster-scoped objects, terminating namespaces, real errors', async (t) => {
  const { store } = newStore();
  const rec = new EventRecorder(store);
  const pv = store.create('core/persistentvolumes', { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'd' } } }).object;
  rec.record(pv, 'Warning', 'VolumeFailedDelete', 'no deleter', { component: 'persistentvolume-controller' });
  t.same(
    rec.about({ name: 'pv1' }).map((e) => [e.metadata.namespace, e.reason]),
    [['default', 'VolumeFailedDelete']],
    'events about cluster-scoped objects live in default',
  );
  // A terminating namespace refuses new events: best effort, no throw.
  store.create('core/namespaces', { metadata: { name: 'dying' } });
  store.create('core/configmaps', { metadata: { name: 'c', namespace: 'dying' } });
  store.delete('core/namespaces', undefined, 'dying');
  rec.record({ kind: 'ConfigMap', name: 'c', namespace: 'dying' }, 'Normal', 'X', 'y', { component: 'z' });
  t.same(store.list('core/events', 'dying').items, []);
  // Anything that is not an API error is a bug and surfaces.
  const broken = new Store({ types: resourcesFor(clusterProfile('v1.32')) });
  broken.create('core/namespaces', { metadata: { name: 'default' } });
  broken.create = () => {
    throw new TypeError('bug');
  };
  t.throws(() => new EventRecorder(broken).record({ kind: 'Pod', name: 'p', namespace: 'default' }, 'Normal', 'X', 'y', { component: 'z' }), TypeError);
});
