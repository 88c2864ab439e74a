import t from 'tap';
import { clusterProfile } from '../profiles.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, negotiateAggregated, parseAccept, rootDiscovery, storageVersionHash, versionInfo } from './discovery.js';

const p20 = clusterProfile('v1.20');
const p27 = clusterProfile('v1.27');
const p32 = clusterProfile('v1.32');
const p10 = clusterProfile('v1.10');
const p6 = clusterProfile('v1.6');

t.test('/version', async (t) => {
  const v = versionInfo(p32);
  t.match(v, { major: '1', minor: '32', gitVersion: 'v1.32.9+dkc.emulated', gitTreeState: 'clean', compiler: 'gc', platform: 'linux/amd64' });
  t.match(v.gitCommit, /^[0-9a-f]{40}$/);
  t.match(v.goVersion, /^go1\.23/);
  t.match(versionInfo(p20).goVersion, /^go1\.15/);
  t.match(versionInfo(p6).goVersion, /^go1\.7/);
  t.match(versionInfo(p10).goVersion, /^go1\.9/);
  t.match(versionInfo(clusterProfile('v1.35')).goVersion, /^go1\.25/);
  t.match(versionInfo(p27).goVersion, /^go1\.21/);
  t.not(versionInfo(p20).gitCommit, v.gitCommit);
});

t.test('/api and /apis', async (t) => {
  t.same(apiVersions(p32, '10.0.0.1:6443'), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443' }] });
  t.equal(apiVersions(p32).serverAddressByClientCIDRs[0]!.serverAddress, '127.0.0.1:6443');
  const l = apiGroupList(p32);
  t.equal(l.kind, 'APIGroupList');
  t.same(
    l.groups.map((g) => g.name),
    ['apps', 'storage.k8s.io'],
  );
  t.same(l.groups[0], { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } });
  const old = apiGroupList(p10).groups.find((g) => g.name === 'apps')!;
  t.same(
    old.versions.map((v) => v.version),
    ['v1', 'v1beta2', 'v1beta1'],
  );
  t.match(apiGroup(p32, 'apps'), { kind: 'APIGroup', apiVersion: 'v1', name: 'apps', preferredVersion: { version: 'v1' } });
  t.equal(apiGroup(p32, 'batch'), undefined);
});

t.test('/api/v1 resources and subresources', async (t) => {
  const l = apiResourceList(p32, '', 'v1')!;
  t.equal(l.kind, 'APIResourceList');
  t.equal(l.groupVersion, 'v1');
  t.notOk('apiVersion' in l, '/api/v1 carries no apiVersion');
  const by = (n: string) => l.resources.find((r) => r.name === n);
  t.same(by('pods'), {
    name: 'pods',
    singularName: 'pod',
    namespaced: true,
    kind: 'Pod',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['po'],
    categories: ['all'],
    storageVersionHash: 'xPOwRZ+Yhw8=',
  });
  t.same(by('pods/exec'), { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] });
  t.same(by('pods/attach')?.kind, 'PodAttachOptions');
  t.same(by('pods/log'), { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
  t.same(by('pods/binding'), { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
  t.same(by('pods/status')?.verbs, ['get', 'patch', 'update']);
  t.same(by('pods/eviction'), { name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
  t.same(by('namespaces/finalize'), { name: 'namespaces/finalize', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['update'] });
  const names = l.resources.map((r) => r.name);
  t.same(names, [...names].sort(), 'sorted by name');
  const l20 = apiResourceList(p20, '', 'v1')!;
  t.equal(l20.resources.find((r) => r.name === 'pods/eviction')?.version, 'v1beta1');
  t.equal(l20.resources.find((r) => r.name === 'pods')?.singularName, '', 'singularName empty before 1.27');
  t.notOk(apiResourceList(p10, '', 'v1')!.resources[0]!.storageVersionHash, 'no hash before 1.14');
  t.equal(storageVersionHash('', 'v1', 'Pod'), 'xPOwRZ+Yhw8=');
});

t.test('/apis/<g>/<v>', async (t) => {
  const l = apiResourceList(p32, 'apps', 'v1')!;
  t.match(l, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'apps/v1' });
  t.same(
    l.resources.find((r) => r.name === 'statefulsets/scale'),
    { name: 'statefulsets/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  );
  t.match(
    l.resources.find((r) => r.name === 'statefulsets'),
    { kind: 'StatefulSet', shortNames: ['sts'], categories: ['all'], storageVersionHash: 'H+vl74LkKdo=' },
  );
  const beta = apiResourceList(p10, 'apps', 'v1beta1')!;
  t.match(
    beta.resources.find((r) => r.name === 'statefulsets/scale'),
    { group: 'apps', version: 'v1beta1', kind: 'Scale' },
  );
  t.equal(apiResourceList(p32, 'apps', 'v1beta1'), undefined);
  t.equal(apiResourceList(p32, 'batch', 'v1'), undefined);
  t.ok(apiResourceList(p32, 'storage.k8s.io', 'v1')!.resources.some((r) => r.name === 'storageclasses' && !r.namespaced));
});

const AGG_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const AGG_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

t.test('aggregated discovery', async (t) => {
  t.equal(negotiateAggregated(p32, AGG_V2), 'v2');
  t.equal(negotiateAggregated(p27, AGG_V2), 'v2beta1', '1.27 only has v2beta1');
  t.equal(negotiateAggregated(p20, AGG_V2), undefined);
  t.equal(negotiateAggregated(p32, 'application/json'), undefined);
  t.equal(negotiateAggregated(p32, undefined), undefined);
  t.equal(negotiateAggregated(p32, 'application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'), undefined, 'JSON only');
  t.same(parseAccept('a/b;x=1, c/d'), [
    { type: 'a/b', params: { x: '1' } },
    { type: 'c/d', params: {} },
  ]);

  const apis = rootDiscovery(p32, false, AGG_V2);
  t.equal(apis.contentType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const body = apis.body as { kind: string; apiVersion: string; items: { metadata: { name?: string }; versions: { version: string; freshness: string; resources: Record<string, unknown>[] }[] }[] };
  t.equal(body.kind, 'APIGroupDiscoveryList');
  t.equal(body.apiVersion, 'apidiscovery.k8s.io/v2');
  t.same(
    body.items.map((i) => i.metadata.name),
    ['apps', 'storage.k8s.io'],
  );
  const sts = body.items[0]!.versions[0]!.resources.find((r) => r.resource === 'statefulsets')!;
  t.same(sts, {
    resource: 'statefulsets',
    responseKind: { group: '', version: '', kind: 'StatefulSet' },
    scope: 'Namespaced',
    singularResource: 'statefulset',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['sts'],
    categories: ['all'],
    subresources: [
      { subresource: 'status', responseKind: { group: '', version: '', kind: 'StatefulSet' }, verbs: ['get', 'patch', 'update'] },
      { subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] },
    ],
  });
  t.equal(body.items[0]!.versions[0]!.freshness, 'Current');
  const sc = body.items[1]!.versions[0]!.resources[0]!;
  t.equal(sc.scope, 'Cluster');
  t.notOk('subresources' in sc);

  const api = rootDiscovery(p27, true, AGG_V2BETA1);
  t.equal(api.contentType, 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
  const legacy = api.body as { apiVersion: string; items: { metadata: Record<string, unknown>; versions: { version: string; resources: { resource: string }[] }[] }[] };
  t.equal(legacy.apiVersion, 'apidiscovery.k8s.io/v2beta1');
  t.equal(legacy.items.length, 1);
  t.notOk('name' in legacy.items[0]!.metadata);
  t.ok(legacy.items[0]!.versions[0]!.resources.some((r) => r.resource === 'pods'));

  const plain = rootDiscovery(p20, true, AGG_V2, '1.2.3.4:443');
  t.equal(plain.contentType, 'application/json');
  t.match(plain.body, { kind: 'APIVersions', serverAddressByClientCIDRs: [{ serverAddress: '1.2.3.4:443' }] });
  t.match(rootDiscovery(p32, false, 'application/json').body, { kind: 'APIGroupList' });
});
