// The Calico manifest: release per series, where it comes from (cache, same-series cache, download, nothing), and
// the patch on a recorded calico.yaml fixture: its FlexVolume driver gone, the pool CIDR and autodetection set.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CALICO_RELEASES, calicoManifest, calicoManifestUrl, calicoRelease, isCalicoManifest, patchCalicoManifest } from './calico.js';
import { CALICO_FIXTURE } from './testing.js';
import { KIND_VERSIONS } from './versions.js';

const fixture = readFileSync(CALICO_FIXTURE, 'utf8');
const docs = (text: string) => (parseAllDocuments(text) as any[]).map((d) => d.toJS()).filter(Boolean);
const calicoNode = (text: string) => docs(text).find((d) => d.kind === 'DaemonSet' && d.metadata.name === 'calico-node');

t.test('a release for every series the version table uses; full releases kept', async (t) => {
  for (const v of KIND_VERSIONS) t.match(calicoRelease(v.calico), new RegExp(`^${v.calico.replace('.', '\\.')}\\.\\d+$`), v.version);
  t.equal(calicoRelease('v3.26'), 'v3.26.5');
  t.equal(calicoRelease('v3.30.2'), 'v3.30.2');
  t.throws(() => calicoRelease('v3.9'), { code: 'BAD_INPUT', message: /no Calico release known for series v3\.9; set .* v3\.9\.0/ });
  t.equal(Object.keys(CALICO_RELEASES).length, 9);
  t.equal(calicoManifestUrl('v3.31.4'), 'https://raw.githubusercontent.com/projectcalico/calico/v3.31.4/manifests/calico.yaml');
});

t.test('manifest source: exact cached copy, else the same series, else a download saved into the cache', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-calico-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const noFetch = (async () => {
    throw new Error('no network in tests');
  }) as unknown as typeof fetch;
  await writeFile(join(dir, 'calico-v3.26.5.yaml'), 'exact');
  t.same(await calicoManifest('v3.26.5', { cacheDir: dir, fetch: noFetch }), { text: 'exact', release: 'v3.26.5', from: join(dir, 'calico-v3.26.5.yaml') });

  await writeFile(join(dir, 'calico-v3.29.1.yaml'), 'old');
  await writeFile(join(dir, 'calico-v3.29.10.yaml'), 'newer');
  await writeFile(join(dir, 'calico-v3.2.0.yaml'), 'other series');
  const notes: string[] = [];
  const same = await calicoManifest('v3.29.6', { cacheDir: dir, fetch: noFetch, note: (m) => notes.push(m) });
  t.same([same.text, same.release], ['newer', 'v3.29.10'], 'the highest cached patch of the series (10 > 1 numerically)');
  t.match(notes[0], /Calico v3\.29\.6 is not cached; using .*calico-v3\.29\.10\.yaml/);

  const asked: string[] = [];
  const ok = (async (url: string) => {
    asked.push(url);
    return new Response(fixture, { status: 200 });
  }) as unknown as typeof fetch;
  const got = await calicoManifest('v3.31.4', { cacheDir: dir, fetch: ok });
  t.same(asked, ['https://raw.githubusercontent.com/projectcalico/calico/v3.31.4/manifests/calico.yaml']);
  t.same([got.text, got.from], [fixture, asked[0]]);
  t.equal(await readFile(join(dir, 'calico-v3.31.4.yaml'), 'utf8'), fixture, 'kept for the next, offline, run');

  const noCache = await calicoManifest('v3.30.7', { fetch: ok });
  t.equal(noCache.text, fixture, 'without a cache dir the download is used as is');

  // An answer that is not a manifest (a docs-site template, an HTML page from a proxy) is refused and never cached.
  for (const body of ['---\nlayout: null\n---\n{% include charts/calico/templates/calico-node.yaml %}\n', '<html><body>Welcome</body></html>', 'kind: ConfigMap\nmetadata: {name: x}\n']) {
    const odd = (async () => new Response(body, { status: 200 })) as unknown as typeof fetch;
    await t.rejects(calicoManifest('v3.21.6', { cacheDir: dir, fetch: odd }), {
      code: 'MISSING_TOOL',
      message: /https:\/\/raw\.githubusercontent\.com\/projectcalico\/calico\/v3\.21\.6\/manifests\/calico\.yaml did not answer with a Calico manifest .*releases before v3\.24.*; save the release's calico\.yaml as .*calico-v3\.21\.6\.yaml/,
    });
    t.notOk(existsSync(join(dir, 'calico-v3.21.6.yaml')), 'not cached');
  }
  t.ok(isCalicoManifest(fixture));
  t.notOk(isCalicoManifest('kind: [unclosed\n'));

  const notFound = (async () => new Response('404: Not Found', { status: 404 })) as unknown as typeof fetch;
  await t.rejects(calicoManifest('v3.20.6', { cacheDir: dir, fetch: notFound }), { code: 'MISSING_TOOL', message: /could not download the Calico v3\.20\.6 manifest from https:\/\/raw.* \(HTTP 404\); save it as .*calico-v3\.20\.6\.yaml/ });
  await t.rejects(calicoManifest('v3.20.6', { cacheDir: dir, fetch: noFetch }), { message: /\(no network in tests\)/ });
  await t.rejects(calicoManifest('v3.20.6', { fetch: false }), { code: 'MISSING_TOOL', message: /no cached Calico v3\.20\.6 manifest and downloads are off; save https:.* as \$DKC_CALICO_MANIFEST_DIR\/calico-v3\.20\.6\.yaml/ });
  await t.rejects(calicoManifest('v3.20.6', { cacheDir: join(dir, 'missing'), fetch: false }), { message: /save .* as .*missing\/calico-v3\.20\.6\.yaml/ });
});

t.test('patch on the recorded fixture: flexvol-driver and its volume gone, CIDR and autodetection set, rest untouched', async (t) => {
  const before = calicoNode(fixture);
  t.ok(before.spec.template.spec.initContainers.some((c: any) => c.name === 'flexvol-driver'), 'the fixture has the init container');
  t.ok(before.spec.template.spec.volumes.some((v: any) => v.name === 'flexvol-driver-host'), 'and its volume');

  const p = patchCalicoManifest(fixture, { podCidr: '192.168.0.0/16' });
  t.same(p.removed, ['initContainer flexvol-driver', 'volume flexvol-driver-host']);
  const ds = calicoNode(p.text).spec.template.spec;
  t.same(ds.initContainers.map((c: any) => c.name), ['upgrade-ipam', 'install-cni', 'mount-bpffs'], 'the other init containers stay, in order');
  t.notOk(ds.volumes.some((v: any) => v.name === 'flexvol-driver-host'));
  t.equal(ds.volumes.length, before.spec.template.spec.volumes.length - 1);
  t.notMatch(p.text, /nodeagent~uds|pod2daemon-flexvol/, 'nothing of the driver is left anywhere');
  const env = ds.containers[0].env;
  t.same(env.find((e: any) => e.name === 'CALICO_IPV4POOL_CIDR'), { name: 'CALICO_IPV4POOL_CIDR', value: '192.168.0.0/16' });
  t.same(env.find((e: any) => e.name === 'IP_AUTODETECTION_METHOD'), { name: 'IP_AUTODETECTION_METHOD', value: 'interface=eth0' });
  t.equal(env.find((e: any) => e.name === 'CALICO_IPV4POOL_IPIP').value, 'Always', 'other settings kept');

  const all = docs(p.text);
  t.same(all.map((d) => d.kind), ['ConfigMap', 'CustomResourceDefinition', 'ClusterRole', 'ServiceAccount', 'DaemonSet', 'Deployment'], 'every document, in order');
  t.same(all.filter((d) => d.kind !== 'DaemonSet'), docs(fixture).filter((d) => d.kind !== 'DaemonSet'), 'the other documents are equal');
  t.match(p.text, /# Source: calico\/templates\/calico-kube-controllers\.yaml/, 'their comments too');
  t.match(p.text, /# calico-node as patched by dkc .* removed initContainer flexvol-driver, volume flexvol-driver-host; CALICO_IPV4POOL_CIDR=192\.168\.0\.0\/16/);
  t.same(p.images.sort(), ['docker.io/calico/cni:v3.26.5', 'docker.io/calico/kube-controllers:v3.26.5', 'docker.io/calico/node:v3.26.5'], 'images for kind load, without pod2daemon-flexvol');
});

t.test('patch: manifests without the driver, an existing CIDR from a ref, volume mounts of the removed volume', async (t) => {
  const newer = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  template:
    spec:
      initContainers:
        - {name: flexvol-driver, image: quay.io/calico/pod2daemon-flexvol:v3.31.4, volumeMounts: [{name: flexvol-driver-host, mountPath: /host/driver}]}
      containers:
        - name: calico-node
          image: quay.io/calico/node:v3.31.4
          env:
            - {name: CALICO_IPV4POOL_CIDR, valueFrom: {configMapKeyRef: {name: x, key: cidr}}}
          volumeMounts:
            - {name: flexvol-driver-host, mountPath: /oops}
            - {name: policysync, mountPath: /var/run/nodeagent}
      volumes:
        - {name: flexvol-driver-host, hostPath: {path: /usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds}}
        - {name: policysync, hostPath: {path: /var/run/nodeagent}}
`;
  const p = patchCalicoManifest(newer, { podCidr: '10.10.0.0/16', autodetect: 'can-reach=8.8.8.8' });
  const ds = calicoNode(p.text).spec.template.spec;
  t.notOk('initContainers' in ds, 'an emptied initContainers list is dropped');
  t.same(ds.containers[0].volumeMounts, [{ name: 'policysync', mountPath: '/var/run/nodeagent' }], 'a mount of the removed volume goes too');
  t.same(ds.containers[0].env, [
    { name: 'CALICO_IPV4POOL_CIDR', value: '10.10.0.0/16' },
    { name: 'IP_AUTODETECTION_METHOD', value: 'can-reach=8.8.8.8' },
  ]);

  const master = newer.replace(/ {6}initContainers:\n.*\n/, '').replace(/ {8}- \{name: flexvol-driver-host, hostPath.*\n/, '').replace(/ {12}- \{name: flexvol-driver-host, mountPath: \/oops\}\n/, '');
  const m = patchCalicoManifest(master, { podCidr: '192.168.0.0/16' });
  t.same(m.removed, [], 'nothing to remove (Calico master has no FlexVolume driver)');
  t.equal(calicoNode(m.text).spec.template.spec.containers[0].env[0].value, '192.168.0.0/16');
  t.same(m.images, ['quay.io/calico/node:v3.31.4']);
});

t.test('patch refuses what is not a Calico manifest', async (t) => {
  t.throws(() => patchCalicoManifest('kind: ConfigMap\nmetadata: {name: x}\n', { podCidr: '1.0.0.0/8' }), { code: 'BAD_INPUT', message: /no calico-node DaemonSet; give calico\.yaml/ });
  t.throws(() => patchCalicoManifest('kind: DaemonSet\nmetadata: {name: calico-node}\nspec: {template: {spec: {containers: [{name: other}]}}}\n', { podCidr: '1.0.0.0/8' }), { message: /no calico-node container/ });
  t.throws(() => patchCalicoManifest('kind: [unclosed\n', { podCidr: '1.0.0.0/8' }), { message: /not valid YAML/ });
  t.throws(() => patchCalicoManifest('', { podCidr: '1.0.0.0/8' }), { message: /no calico-node DaemonSet/ });
});
