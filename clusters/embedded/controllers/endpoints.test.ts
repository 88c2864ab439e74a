import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { EndpointsController, endpointSubsets, HEADLESS_LABEL, TOLERATE_UNREADY_ANNOTATION, toleratesUnready } from './endpoints.js';

type Tap = { teardown(fn: () => void): void };

function env(t: Tap, version: string, opts: { start?: boolean } = {}) {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: (msg, fields) => logs.push({ msg, ...(fields ? { fields } : {}) }) };
  const c = new EndpointsController();
  if (opts.start !== false) c.start(ctx);
  t.teardown(() => c.stop());
  return { store, profile, ctx, c, logs };
}

/** Let queued watch events reach the controller, then wait for its queue to drain. */
async function settle(c: { idle(): Promise<void> }): Promise<void> {
  await new Promise((res) => setImmediate(res));
  await c.idle();
  await new Promise((res) => setTimeout(res, 20));
  await c.idle();
}

const svc = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject => ({ metadata: { name, namespace: 'default', ...meta }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec } });

interface PodOpts {
  ip?: string;
  ready?: boolean;
  phase?: string;
  labels?: Record<string, string>;
  containerPort?: number | null;
  hostname?: string;
  subdomain?: string;
  restartPolicy?: string;
  nodeName?: string;
}
function addPod(store: Store, name: string, o: PodOpts = {}): KObject {
  store.create('core/pods', {
    metadata: { name, namespace: 'default', labels: o.labels ?? { app: 'web' } },
    spec: {
      nodeName: o.nodeName ?? 'n1',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
      containers: [{ name: 'c', image: 'x', ...(o.containerPort === null ? {} : { ports: [{ name: 'http', containerPort: o.containerPort ?? 8080 }] }) }],
    },
  });
  return setStatus(store, name, o);
}
/** The kubelet's part: phase, IP and the Ready condition. */
function setStatus(store: Store, name: string, o: PodOpts): KObject {
  return store.mutate(
    'core/pods',
    'default',
    name,
    (p) =>
      void (p.status = {
        phase: o.phase ?? 'Running',
        ...(o.ip === undefined || o.ip ? { podIP: o.ip ?? '10.0.0.1' } : {}),
        conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      }),
    'status',
  )!;
}

type Addr = { ip: string; hostname?: string; nodeName?: string; targetRef: { kind: string; name: string; namespace: string; uid: string; resourceVersion?: string } };
type Subset = { addresses?: Addr[]; notReadyAddresses?: Addr[]; ports?: { name?: string; port: number; protocol: string; appProtocol?: string }[] };
type EP = KObject & { subsets?: Subset[] };
const ep = (store: Store, name = 'web') => store.get('core/endpoints', 'default', name) as EP | undefined;
const ips = (s: Subset | undefined, which: 'addresses' | 'notReadyAddresses' = 'addresses') => (s?.[which] ?? []).map((a) => a.ip);

/** Wait until the Endpoints satisfy `ok`; the failure message shows what they were. */
async function until(store: Store, what: string, ok: (e: EP | undefined) => boolean, name = 'web'): Promise<EP | undefined> {
  const r = await waitFor(
    what,
    async (seen) => {
      const e = ep(store, name);
      seen(JSON.stringify(e?.subsets ?? e ?? null));
      return ok(e) ? { e } : undefined;
    },
    { timeoutMs: 5000 },
  );
  return r.e;
}

for (const version of ['v1.6', 'v1.10', 'v1.20', 'v1.27', 'v1.32', 'v1.35']) {
  t.test(`ready and unready pods, named target ports, follow pod changes (${version})`, async (t) => {
    const { store, profile, c } = env(t, version);
    store.create('core/services', svc('web', {}, { labels: { tier: 'front' } }));
    const a = addPod(store, 'a', { ip: '10.0.0.2' });
    addPod(store, 'b', { ip: '10.0.0.3', ready: false });
    addPod(store, 'noip', { ip: '' });
    addPod(store, 'other', { ip: '10.0.0.4', labels: { app: 'db' } });
    const e = (await until(store, 'a ready, b not ready', (e) => ips(e?.subsets?.[0]).length === 1 && ips(e?.subsets?.[0], 'notReadyAddresses').length === 1))!;
    t.equal(e.subsets!.length, 1, 'one subset: both pods offer the same port');
    const s = e.subsets![0]!;
    t.same(ips(s), ['10.0.0.2']);
    t.same(ips(s, 'notReadyAddresses'), ['10.0.0.3'], 'pod without IP and pod outside the selector left out');
    t.same(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }], 'targetPort name resolved to the container port');
    const addr = s.addresses![0]!;
    t.equal(addr.nodeName, 'n1');
    t.match(addr.targetRef, { kind: 'Pod', name: 'a', namespace: 'default', uid: a.metadata.uid });
    // Pod resourceVersions were published until 1.24 (#108450).
    if (profile.minor < 24) t.equal(addr.targetRef.resourceVersion, store.get('core/pods', 'default', 'a')!.metadata.resourceVersion);
    else t.notOk('resourceVersion' in addr.targetRef, 'no pod resourceVersion from 1.24');
    t.notOk(addr.hostname, 'no hostname without a matching subdomain');
    t.same(e.metadata.labels, { tier: 'front' }, 'labels copied from the service (it has a cluster IP: no headless label)');

    setStatus(store, 'b', { ip: '10.0.0.3' });
    await until(store, 'b ready', (e) => ips(e?.subsets?.[0]).join() === '10.0.0.2,10.0.0.3');
    t.notOk(ep(store)!.subsets![0]!.notReadyAddresses, 'nothing left not ready');
    store.delete('core/pods', 'default', 'a', { gracePeriodSeconds: 0 });
    await until(store, 'a gone', (e) => ips(e?.subsets?.[0]).join() === '10.0.0.3');
    store.delete('core/pods', 'default', 'b', { gracePeriodSeconds: 0 });
    await until(store, 'empty', (e) => !!e && !e.subsets);
    await settle(c);
    t.ok(ep(store), 'the Endpoints object stays while its service does');
  });
}

t.test('ports are resolved per pod and repacked by address set', async (t) => {
  const { store } = env(t, 'v1.32');
  store.create('core/services', svc('web', { ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090, targetPort: 9100 }] }));
  addPod(store, 'a', { ip: '10.0.0.10' });
  addPod(store, 'b', { ip: '10.0.0.9', containerPort: 8081 });
  addPod(store, 'c', { ip: '10.0.0.11', containerPort: null });
  const e = (await until(store, 'three subsets', (e) => e?.subsets?.length === 3))!;
  const byPorts = Object.fromEntries(e.subsets!.map((s) => [JSON.stringify(s.ports), ips(s)]));
  // a and b differ in the http port; all three offer the numeric metrics port; c has no port named http.
  t.same(byPorts[JSON.stringify([{ name: 'http', port: 8080, protocol: 'TCP' }])], ['10.0.0.10']);
  t.same(byPorts[JSON.stringify([{ name: 'http', port: 8081, protocol: 'TCP' }])], ['10.0.0.9']);
  t.same(byPorts[JSON.stringify([{ name: 'metrics', port: 9100, protocol: 'TCP' }])], ['10.0.0.10', '10.0.0.11', '10.0.0.9'], 'addresses in byte order of the IP, as upstream sorts them');
  // Two ports offered by the same addresses share one subset.
  const p2 = endpointSubsets(
    store.get('core/services', 'default', 'web')!,
    ['a'].map((n) => store.get('core/pods', 'default', n)!),
    clusterProfile('v1.32'),
  );
  t.equal(p2.length, 1);
  t.same((p2[0] as Subset).ports!.map((p) => p.port), [8080, 9100]);
  // A named port must match the protocol too.
  const udp = endpointSubsets(svc('u', { ports: [{ name: 'dns', port: 53, targetPort: 'http', protocol: 'UDP' }] }), [store.get('core/pods', 'default', 'a')!], clusterProfile('v1.32'));
  t.same(udp, [], 'a TCP container port does not serve a UDP service port');
});

t.test('appProtocol is copied from 1.19', async (t) => {
  const port = { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' };
  for (const [version, want] of [
    ['v1.10', undefined],
    ['v1.20', 'http'],
  ] as const) {
    const { store } = env(t, version, { start: false });
    addPod(store, 'a', { ip: '10.0.0.2' });
    const s = endpointSubsets(svc('web', { ports: [port] }), store.list('core/pods', 'default').items, clusterProfile(version)) as Subset[];
    t.equal(s[0]!.ports![0]!.appProtocol, want, version);
  }
});

t.test('tolerating unready endpoints: field, deprecated annotation, terminating pods', async (t) => {
  const field = svc('web', { publishNotReadyAddresses: true });
  const annotated = (v: string, spec: Record<string, unknown> = {}) => svc('web', spec, { annotations: { [TOLERATE_UNREADY_ANNOTATION]: v } });
  const cases: [string, KObject, boolean][] = [
    ['v1.6', field, false], // the field arrived in 1.9
    ['v1.10', field, true],
    ['v1.35', field, true],
    ['v1.6', annotated('true'), true],
    ['v1.20', annotated('t'), true],
    ['v1.20', annotated('false', { publishNotReadyAddresses: true }), false], // the annotation wins while honoured
    ['v1.20', annotated('maybe', { publishNotReadyAddresses: true }), true], // unparsable: ignored
    ['v1.27', annotated('true'), false], // removed in 1.24
  ];
  for (const [version, s, want] of cases) t.equal(toleratesUnready(s, clusterProfile(version)), want, `${version} ${JSON.stringify(s.metadata.annotations ?? s.spec)}`);

  for (const version of ['v1.10', 'v1.32']) {
    const { store, c } = env(t, version);
    store.create('core/services', svc('web', { publishNotReadyAddresses: true }));
    store.create('core/services', svc('strict', {}));
    addPod(store, 'a', { ip: '10.0.0.2', ready: false });
    addPod(store, 'b', { ip: '10.0.0.3' });
    await until(store, 'unready published', (e) => ips(e?.subsets?.[0]).join() === '10.0.0.2,10.0.0.3');
    await until(store, 'strict keeps it apart', (e) => ips(e?.subsets?.[0], 'notReadyAddresses').join() === '10.0.0.2', 'strict');
    // A terminating pod (graceful deletion, the kubelet has not stopped it) stays only where unready ones are tolerated.
    store.delete('core/pods', 'default', 'b', { gracePeriodSeconds: 30 });
    t.ok(store.get('core/pods', 'default', 'b')?.metadata.deletionTimestamp);
    await until(store, 'terminating dropped', (e) => !ips(e?.subsets?.[0]).includes('10.0.0.3'), 'strict');
    await settle(c);
    t.same(ips(ep(store)!.subsets![0]), ['10.0.0.2', '10.0.0.3'], `${version}: terminating pod kept with publishNotReadyAddresses`);
  }
});

t.test('terminal pods by version', async (t) => {
  // Unready pods whose phase is final: Succeeded with restartPolicy Always/Never, Failed with OnFailure.
  const pods = (store: Store) => {
    addPod(store, 'always', { ip: '10.0.0.2', ready: false, phase: 'Succeeded' });
    addPod(store, 'never', { ip: '10.0.0.3', ready: false, phase: 'Succeeded', restartPolicy: 'Never' });
    addPod(store, 'onfailure', { ip: '10.0.0.4', ready: false, phase: 'Failed', restartPolicy: 'OnFailure' });
    return store.list('core/pods', 'default').items;
  };
  const cases: [string, boolean, string[], string[]][] = [
    // version, tolerate, addresses, notReadyAddresses
    ['v1.6', false, [], ['10.0.0.2', '10.0.0.3', '10.0.0.4']], // before #47504 every unready pod is listed
    ['v1.10', false, [], ['10.0.0.2', '10.0.0.4']], // only pods that may restart
    ['v1.20', false, [], ['10.0.0.2', '10.0.0.4']],
    ['v1.20', true, ['10.0.0.2', '10.0.0.3', '10.0.0.4'], []], // tolerated: all published
    ['v1.27', false, [], []], // #110255: terminal pods never
    ['v1.27', true, [], []],
  ];
  for (const [version, tolerate, ready, notReady] of cases) {
    const { store } = env(t, version, { start: false });
    const s = endpointSubsets(svc('web', { publishNotReadyAddresses: tolerate }), pods(store), clusterProfile(version)) as Subset[];
    t.same([ips(s[0]), ips(s[0], 'notReadyAddresses')], [ready, notReady], `${version} tolerate=${tolerate}`);
  }
});

t.test('hostname from hostname+subdomain; headless label and services without ports by version', async (t) => {
  for (const version of ['v1.6', 'v1.10', 'v1.20', 'v1.35']) {
    const { store, profile, c, logs } = env(t, version);
    store.create('core/services', svc('web', { clusterIP: 'None' }));
    store.create('core/services', svc('bare', { clusterIP: 'None', ports: [] }));
    addPod(store, 'web-0', { ip: '10.0.0.2', hostname: 'web-0', subdomain: 'web' });
    addPod(store, 'web-1', { ip: '10.0.0.3', hostname: 'web-1', subdomain: 'elsewhere' });
    const e = (await until(store, 'two addresses', (e) => ips(e?.subsets?.[0]).length === 2))!;
    const [a0, a1] = e.subsets![0]!.addresses!;
    t.equal(a0!.hostname, 'web-0', 'subdomain names this service');
    t.notOk(a1!.hostname, 'subdomain names another service');
    t.same(e.metadata.labels ?? {}, profile.minor >= 17 ? { [HEADLESS_LABEL]: '' } : {}, `${version}: headless label`);
    await settle(c);
    const bare = ep(store, 'bare');
    if (profile.minor < 8) t.same(bare && !bare.subsets, true, 'v1.6: Endpoints without addresses');
    else if (profile.minor < 12) {
      t.notOk(bare, 'v1.10: the port-0 subset is invalid, nothing is written');
      t.ok(logs.some((l) => l.msg === 'endpoints invalid' && l.fields?.key === 'default/bare'), 'the refusal is logged');
    } else t.same(bare?.subsets, [{ addresses: e.subsets![0]!.addresses!.map(({ hostname: _h, ...a }) => a) }], 'addresses without ports, no hostname (the subdomain names web)');
  }
});

t.test('labels follow the service; Endpoints without a service go, deleted ones return', async (t) => {
  const { store, ctx, c } = env(t, 'v1.27', { start: false });
  // Left over from before the controller ran: no service (deleted), and a leader-election record (kept).
  store.create('core/endpoints', { metadata: { name: 'stale', namespace: 'default' } });
  store.create('core/endpoints', { metadata: { name: 'lock', namespace: 'default', annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } } });
  // A service without selector and its hand-made Endpoints.
  store.create('core/services', { metadata: { name: 'ext', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
  store.create('core/endpoints', { metadata: { name: 'ext', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }] });
  c.start(ctx);
  await until(store, 'stale removed', (e) => !e, 'stale');
  await settle(c);
  t.ok(ep(store, 'lock'), 'leader-election Endpoints kept');

  store.create('core/services', svc('web', {}, { labels: { tier: 'front' } }));
  addPod(store, 'a', { ip: '10.0.0.2' });
  await until(store, 'created', (e) => ips(e?.subsets?.[0]).length === 1);
  store.mutate('core/services', 'default', 'web', (s) => void (s.metadata.labels = { tier: 'back' }));
  await until(store, 'labels follow', (e) => e?.metadata.labels?.tier === 'back');
  store.mutate('core/endpoints', 'default', 'web', (e) => void (e.metadata.labels = { tier: 'back', mine: 'x' }));
  await settle(c);
  t.equal(ep(store)!.metadata.labels?.mine, 'x', 'an edit of the Endpoints alone triggers nothing (upstream watches only their deletion)');
  // The next sync of the service replaces the labels wholesale.
  store.mutate('core/services', 'default', 'web', (s) => void delete s.metadata.labels);
  await until(store, 'no labels', (e) => !!e && !e.metadata.labels);

  store.delete('core/endpoints', 'default', 'web');
  await until(store, 'recreated', (e) => ips(e?.subsets?.[0]).length === 1);
  addPod(store, 'b', { ip: '10.0.0.3' });
  await until(store, 'b added', (e) => ips(e?.subsets?.[0]).length === 2);
  t.same(ep(store, 'ext')!.subsets, [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }], 'a service without selector keeps its hand-made Endpoints');
  store.delete('core/services', 'default', 'web');
  await until(store, 'gone with the service', (e) => !e);
});

t.test('ExternalName services with a selector get Endpoints only before 1.27', async (t) => {
  for (const [version, want] of [
    ['v1.20', true],
    ['v1.27', false],
  ] as const) {
    const { store, c } = env(t, version);
    addPod(store, 'a', { ip: '10.0.0.2' });
    store.create('core/services', svc('web', { type: 'ExternalName', externalName: 'example.com', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
    store.create('core/services', svc('probe', {}));
    // The second service proves the controller has caught up before the negative check.
    await until(store, 'probe synced', (e) => !!e, 'probe');
    await settle(c);
    const e = ep(store);
    t.equal(!!e, want, version);
    if (e) t.same(e.metadata.labels, { [HEADLESS_LABEL]: '' }, 'no cluster IP: labelled headless');
  }
});

t.test('a pod change that does not touch the Endpoints is no update (from 1.8)', async (t) => {
  for (const [version, rewrites] of [
    ['v1.6', true],
    ['v1.20', false],
    ['v1.32', false],
  ] as const) {
    const { store, c } = env(t, version);
    store.create('core/services', svc('web', {}));
    addPod(store, 'a', { ip: '10.0.0.2' });
    const before = (await until(store, 'synced', (e) => ips(e?.subsets?.[0]).length === 1))!;
    store.mutate('core/pods', 'default', 'a', (p) => void (p.metadata.annotations = { touched: 'yes' }));
    // A second service synced after the pod change proves the first one was processed too.
    store.create('core/services', svc('probe', {}));
    await until(store, 'probe synced', (e) => ips(e?.subsets?.[0]).length === 1, 'probe');
    await settle(c);
    t.equal(ep(store)!.metadata.resourceVersion !== before.metadata.resourceVersion, rewrites, `${version}: rewritten=${rewrites}`);
  }
});

t.test('a terminating namespace refuses new Endpoints without failing the sync', async (t) => {
  const { store, c, logs } = env(t, 'v1.32', { start: false });
  store.create('core/namespaces', { metadata: { name: 'dying' } });
  store.create('core/services', { metadata: { name: 'web', namespace: 'dying' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  store.delete('core/namespaces', undefined, 'dying');
  t.ok(store.get('core/namespaces', undefined, 'dying')?.metadata.deletionTimestamp, 'Terminating (no namespace controller runs here)');
  c.start({ store, profile: clusterProfile('v1.32'), events: new EventRecorder(store), log: (msg, fields) => logs.push({ msg, ...(fields ? { fields } : {}) }) });
  await settle(c);
  t.notOk(store.get('core/endpoints', 'dying', 'web'));
  t.same(logs, [], 'no sync failure, no retry');
});

t.test('stop: no more syncs', async (t) => {
  const { store, c } = env(t, 'v1.32');
  store.create('core/services', svc('web', {}));
  await until(store, 'synced', (e) => !!e);
  c.stop();
  addPod(store, 'a', { ip: '10.0.0.2' });
  await settle(c);
  t.notOk(ep(store)!.subsets, 'the pod is not picked up after stop');
  t.equal(await Promise.race([c.idle().then(() => 'idle'), new Promise((r) => setTimeout(() => r('hang'), 500))]), 'idle');
  t.equal(await new EndpointsController().idle(), undefined, 'idle before start resolves');
});
