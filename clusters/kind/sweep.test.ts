// The sweeper against a fake Docker holding what crashed runs left: dkc kind clusters, built images and a tgt host.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepKindClusters } from './sweep.js';
import { fakeWorld, type FakeWorld } from './testing.js';

async function leftovers(t: Test): Promise<FakeWorld> {
  const w = await fakeWorld({ kindReleases: ['v0.31.0'] });
  t.teardown(() => w.cleanup());
  const s = w.state;
  for (const [cluster, nodes] of [
    ['dkc-a1', ['dkc-a1-control-plane', 'dkc-a1-worker']],
    ['dkc-b2', ['dkc-b2-control-plane']],
    ['kind', ['kind-control-plane']],
  ] as const) {
    s.clusters[cluster] = { image: 'kindest/node:v1.31.14' };
    for (const n of nodes) s.containers[n] = { labels: { 'io.x-k8s.kind.cluster': cluster } };
  }
  const tgt = { 'dkc.owner': 'datera-k8s-conformance', 'dkc.instance': 'cafe' };
  s.containers['dkc-tgt-cafe'] = { labels: tgt };
  s.networks['dkc-tgt-cafe-1'] = { labels: tgt, containers: ['dkc-tgt-cafe'] };
  s.networks['dkc-tgt-cafe-2'] = { labels: tgt, containers: [] };
  s.images['dkc/datera-iscsi-installer:a1'] = { labels: { 'dkc.cluster': 'a1' } };
  s.images['dkc/datera-provisioner:b2'] = { labels: { 'dkc.cluster': 'b2' } };
  s.images['busybox:1.36'] = {};
  return w;
}

t.test('one cluster by id and work dir: its kind cluster, images and tgt host; nothing of others', async (t) => {
  const w = await leftovers(t);
  const workDir = join(w.dir, 'work-a1');
  await mkdir(workDir);
  await writeFile(join(workDir, 'kind-cluster.json'), JSON.stringify({ id: 'a1', tgtInstance: 'cafe' }));
  const logs: unknown[] = [];
  const r = await sweepKindClusters({ workDir, env: w.env, log: (m, f) => logs.push([m, f]) });
  t.same(r, { clusters: ['dkc-a1'], images: ['dkc/datera-iscsi-installer:a1'], containers: ['dkc-tgt-cafe'], networks: ['dkc-tgt-cafe-1', 'dkc-tgt-cafe-2'], left: [] });
  t.same(Object.keys(w.state.clusters).sort(), ['dkc-b2', 'kind'], "another run's cluster and the user's own kind cluster stay");
  t.same(Object.keys(w.state.images).sort(), ['busybox:1.36', 'dkc/datera-provisioner:b2']);
  t.notOk(existsSync(join(workDir, 'kind-cluster.json')), 'the record goes once everything did');
  t.ok(w.lines().includes('kind delete cluster --name dkc-a1'));
  t.equal(logs.length, 1);
});

t.test('all dkc clusters when no id is given; never a cluster of another name', async (t) => {
  const w = await leftovers(t);
  const r = await sweepKindClusters({ env: w.env });
  t.same(r.clusters.sort(), ['dkc-a1', 'dkc-b2']);
  t.same(r.images.sort(), ['dkc/datera-iscsi-installer:a1', 'dkc/datera-provisioner:b2']);
  t.same(r.containers, [], 'a tgt host is only swept when a record names it');
  t.same(Object.keys(w.state.clusters), ['kind']);
  t.same(await sweepKindClusters({ env: w.env }), { clusters: [], images: [], containers: [], networks: [], left: [] }, 'a second sweep finds nothing');
});

t.test('without a kind binary the node containers are removed directly; failures are reported, the record kept', async (t) => {
  const w = await leftovers(t);
  const env = { ...w.env, DKC_KIND_DIR: join(w.dir, 'no-kind-here') };
  const r = await sweepKindClusters({ id: 'b2', env });
  t.same(r.clusters, ['dkc-b2']);
  t.ok(w.lines().includes('docker rm --force --volumes dkc-b2-control-plane'));
  t.notOk('dkc-b2-control-plane' in w.state.containers);

  const workDir = join(w.dir, 'work-a1');
  await mkdir(workDir);
  await writeFile(join(workDir, 'kind-cluster.json'), JSON.stringify({ id: 'a1', tgtInstance: 'cafe' }));
  w.knobs.fail = /^(kind delete|docker rm --force --volumes dkc-tgt|docker rmi)/;
  const bad = await sweepKindClusters({ workDir, env: w.env });
  t.same(bad.clusters, ['dkc-a1'], 'kind delete failed: removed through docker instead');
  t.equal(bad.left.length, 4, 'kind delete, the image, the tgt container and its network');
  t.match(bad.left.join('\n'), /kind delete cluster dkc-a1: fake kind: planned failure/);
  t.match(bad.left.join('\n'), /remove image dkc\/datera-iscsi-installer:a1/);
  t.ok(existsSync(join(workDir, 'kind-cluster.json')), 'kept for the next sweep');
  t.same(bad.networks, ['dkc-tgt-cafe-2'], 'the network still in use by the container stays');

  w.knobs.fail = /^docker ps/;
  const blind = await sweepKindClusters({ env: w.env, tools: { kind: join(w.kindDir, 'kind-v0.31.0'), docker: join(w.bin, 'docker') } });
  t.match(blind.left[0], /list kind node containers: fake docker: planned failure/);
});
