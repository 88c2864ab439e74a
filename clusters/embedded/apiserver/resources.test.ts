import t from 'tap';
import { CLUSTER_PROFILES, clusterProfile } from '../profiles.js';
import { apiVersionOf, groupsOf, resourcesFor, type ResourceType } from './resources.js';

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const gvs = (rs: ResourceType[], plural: string) => rs.filter((r) => r.plural === plural).map((r) => apiVersionOf(r));
const find = (rs: ResourceType[], plural: string, version?: string) => rs.find((r) => r.plural === plural && (version === undefined || r.version === version));

t.test('core/v1 is the same in every profile', async (t) => {
  for (const p of CLUSTER_PROFILES) {
    const rs = resourcesFor(p);
    const core = rs.filter((r) => r.group === '');
    t.same(
      core.map((r) => r.plural),
      ['namespaces', 'nodes', 'pods', 'services', 'endpoints', 'configmaps', 'secrets', 'events', 'serviceaccounts', 'persistentvolumes', 'persistentvolumeclaims'],
      p.version,
    );
    t.ok(
      core.every((r) => r.version === 'v1' && r.storageKey === `core/${r.plural}`),
      `${p.version}: core/v1, keyed core/<plural>`,
    );
  }
});

t.test('names, scope, short names, categories, verbs and subresources', async (t) => {
  const rs = resourcesFor(clusterProfile('v1.32'));
  const pods = find(rs, 'pods')!;
  t.same(pods, {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    verbs: ALL,
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'exec', 'attach', 'log', 'binding', 'eviction'],
    storageKey: 'core/pods',
  });
  const short: Record<string, string[] | undefined> = {
    namespaces: ['ns'],
    nodes: ['no'],
    services: ['svc'],
    endpoints: ['ep'],
    configmaps: ['cm'],
    secrets: undefined,
    events: ['ev'],
    serviceaccounts: ['sa'],
    persistentvolumes: ['pv'],
    persistentvolumeclaims: ['pvc'],
    statefulsets: ['sts'],
    deployments: ['deploy'],
    controllerrevisions: undefined,
    storageclasses: ['sc'],
  };
  for (const [plural, names] of Object.entries(short)) t.same(find(rs, plural)!.shortNames, names, `${plural} short names`);
  // `kubectl get all`: pods, services, statefulsets, deployments among ours.
  t.same(
    rs.filter((r) => r.categories?.includes('all')).map((r) => r.plural),
    ['pods', 'services', 'statefulsets', 'deployments'],
  );
  const clusterScoped = rs.filter((r) => !r.namespaced).map((r) => r.plural);
  t.same(clusterScoped, ['namespaces', 'nodes', 'persistentvolumes', 'storageclasses']);
  // Namespaces never serve deletecollection; services did not before the service REST rework (client-go
  // dropped Services().DeleteCollection in 2018, kubernetes #63861), so at least 1.20 must not offer it.
  t.same(find(rs, 'namespaces')!.verbs, ALL.filter((v) => v !== 'deletecollection'));
  t.same(find(resourcesFor(clusterProfile('v1.20')), 'services')!.verbs, ALL.filter((v) => v !== 'deletecollection'), 'v1.20 services: no deletecollection');
  for (const plural of ['pods', 'persistentvolumeclaims', 'statefulsets', 'storageclasses']) t.same(find(rs, plural)!.verbs, ALL, `${plural}: every verb`);
  t.same(find(rs, 'namespaces')!.subresources, ['status', 'finalize']);
  t.same(find(rs, 'statefulsets')!.subresources, ['status', 'scale']);
  t.same(find(rs, 'persistentvolumeclaims')!.subresources, ['status']);
  t.same(find(rs, 'persistentvolumes')!.subresources, ['status']);
  t.same(find(rs, 'configmaps')!.subresources, [], 'no subresources');
  t.same(find(rs, 'storageclasses')!.subresources, []);
  t.equal(find(rs, 'endpoints')!.singular, 'endpoints', 'endpoints is its own singular');
  t.equal(find(rs, 'storageclasses')!.kind, 'StorageClass');
});

t.test('apps group versions per profile', async (t) => {
  const v6 = resourcesFor(clusterProfile('v1.6'));
  t.same(gvs(v6, 'statefulsets'), ['apps/v1beta1'], '1.6: apps/v1beta1 only (no apps/v1 before 1.9)');
  t.same(gvs(v6, 'deployments'), ['apps/v1beta1']);
  t.same(gvs(v6, 'controllerrevisions'), [], 'ControllerRevision arrived in 1.7');
  t.notOk(
    v6.some((r) => r.group === 'apps' && r.version === 'v1'),
    'no apps/v1 at all',
  );

  const v10 = resourcesFor(clusterProfile('v1.10'));
  t.same(gvs(v10, 'statefulsets'), ['apps/v1', 'apps/v1beta2', 'apps/v1beta1'], 'preferred first');
  t.same(gvs(v10, 'controllerrevisions'), ['apps/v1', 'apps/v1beta2', 'apps/v1beta1']);
  t.same(gvs(v10, 'deployments'), ['apps/v1', 'apps/v1beta2', 'apps/v1beta1']);
  t.same(
    new Set(v10.filter((r) => r.plural === 'statefulsets').map((r) => r.storageKey)),
    new Set(['apps/statefulsets']),
    'every version shares one storage key',
  );

  for (const v of ['v1.20', 'v1.27', 'v1.32', 'v1.35']) {
    const rs = resourcesFor(clusterProfile(v));
    t.same(
      rs.filter((r) => r.group === 'apps').map((r) => `${r.version} ${r.plural}`),
      ['v1 statefulsets', 'v1 controllerrevisions', 'v1 deployments'],
      `${v}: beta apps versions gone (1.16)`,
    );
  }
});

t.test('storage.k8s.io versions per profile', async (t) => {
  const expect: Record<string, string[]> = {
    'v1.6': ['storage.k8s.io/v1', 'storage.k8s.io/v1beta1'],
    'v1.10': ['storage.k8s.io/v1', 'storage.k8s.io/v1beta1'],
    'v1.20': ['storage.k8s.io/v1', 'storage.k8s.io/v1beta1'],
    'v1.27': ['storage.k8s.io/v1'],
    'v1.32': ['storage.k8s.io/v1'],
    'v1.35': ['storage.k8s.io/v1'],
  };
  for (const [v, want] of Object.entries(expect)) t.same(gvs(resourcesFor(clusterProfile(v)), 'storageclasses'), want, v);
  t.equal(find(resourcesFor(clusterProfile('v1.20')), 'storageclasses', 'v1beta1')!.storageKey, 'storage.k8s.io/storageclasses');
});

t.test('groupsOf and apiVersionOf', async (t) => {
  t.same(groupsOf(resourcesFor(clusterProfile('v1.10'))), [
    { group: 'apps', versions: ['v1', 'v1beta2', 'v1beta1'] },
    { group: 'storage.k8s.io', versions: ['v1', 'v1beta1'] },
  ]);
  t.same(groupsOf(resourcesFor(clusterProfile('v1.35'))), [
    { group: 'apps', versions: ['v1'] },
    { group: 'storage.k8s.io', versions: ['v1'] },
  ]);
  t.same(groupsOf([]), []);
  t.equal(apiVersionOf({ group: '', version: 'v1' }), 'v1');
  t.equal(apiVersionOf({ group: 'apps', version: 'v1beta2' }), 'apps/v1beta2');
});

t.test('each call returns fresh objects', async (t) => {
  const a = resourcesFor(clusterProfile('v1.32'));
  const b = resourcesFor(clusterProfile('v1.32'));
  t.not(a[0], b[0]);
  t.same(a, b);
});
