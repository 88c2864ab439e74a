import t from 'tap';
import { SUITE_IDS, type RunConfig } from './config.js';
import { PLAN_SCHEMA, makePlan, planJson, type RunPlan } from './plan.js';

const DIGEST = 'c'.repeat(64);
const base: RunConfig = {
  cluster: 'embedded',
  versions: ['v1.20', 'v1.32'],
  suites: ['hygiene', 'node-preflight', 'security-lint'],
  driver: { kind: 'path', path: '/x/drivers/flexvolume/datera~iscsi/iscsi', reference: true },
  backend: { kind: 'mock' },
  reportDir: '/x/reports/2026-05-01T10-20-30Z',
  parallel: 1,
  readOnly: false,
  kindOverrides: {},
};

t.test('embedded: one cluster per version, labelled with the emulated release', async (t) => {
  const p = makePlan(base);
  t.equal(p.schema, PLAN_SCHEMA);
  t.equal(p.provider, 'embedded');
  t.same(p.clusters, [
    { provider: 'embedded', version: 'v1.20', label: 'v1.20.15 (emulated)', emulated: true },
    { provider: 'embedded', version: 'v1.32', label: 'v1.32.9 (emulated)', emulated: true },
  ]);
  t.same(
    p.suites.map((s) => s.id),
    ['node-preflight', 'security-lint', 'hygiene'],
    'run order from SUITES, whatever order the config lists',
  );
  t.equal(p.suites.find((s) => s.id === 'security-lint')?.required, false);
  t.equal(p.configFile, null);
});

t.test('kind: release, digest-pinned node image and Calico per version; overrides applied', async (t) => {
  const img = `kindest/node:v1.30.4@sha256:${DIGEST}`;
  const p = makePlan({ ...base, cluster: 'kind', versions: ['v1.19', 'v1.30', 'v1.37'], kindOverrides: { 'v1.30': { nodeImage: img, kindRelease: 'v0.24.0' } }, configFile: '/x/run.yaml' });
  const [a, b, c] = p.clusters;
  t.match(a, { provider: 'kind', version: 'v1.19', label: 'v1.19.16', emulated: false, kind: { release: 'v0.17.0', calico: 'v3.20', calicoPinned: false, kubeadmApi: 'v1beta2' } });
  t.match(a?.kind?.nodeImage, /^kindest\/node:v1\.19\.16@sha256:[0-9a-f]{64}$/);
  t.match(b, { label: 'v1.30.4', kind: { release: 'v0.24.0', nodeImage: img, calico: 'v3.29' } });
  t.match(b?.kind?.notes.join('\n'), /overridden in the config file/);
  t.match(c, { label: 'v1.37.0', kind: { release: 'v0.33.0', kubeadmApi: 'v1beta4', calicoTested: false } });
  t.equal(p.configFile, '/x/run.yaml');
});

t.test('existing: one cluster, version from the cluster, with its kubeconfig', async (t) => {
  const p = makePlan({ ...base, cluster: 'existing', versions: [], kubeconfig: '/x/kc', backend: { kind: 'datera', url: 'https://dsp:7718' }, driver: { kind: 'image', image: 'datera/flex:1.0' } });
  t.same(p.clusters, [{ provider: 'existing', version: null, label: null, emulated: false, kubeconfig: '/x/kc' }]);
  t.same(p.backend, { kind: 'datera', url: 'https://dsp:7718' });
});

t.test('planJson: the documented key order whatever order the objects were built in', async (t) => {
  const p = makePlan({ ...base, cluster: 'kind', versions: ['v1.32'], suites: [...SUITE_IDS] });
  const shuffled = Object.fromEntries(Object.entries(p).reverse()) as unknown as RunPlan;
  shuffled.clusters = p.clusters.map((c) => Object.fromEntries(Object.entries(c).reverse())) as RunPlan['clusters'];
  const text = planJson(shuffled);
  t.equal(text, planJson(p), 'same text');
  const doc = JSON.parse(text);
  t.same(Object.keys(doc), ['schema', 'provider', 'clusters', 'suites', 'driver', 'backend', 'parallel', 'reportDir', 'configFile']);
  t.same(Object.keys(doc.clusters[0]), ['provider', 'version', 'label', 'emulated', 'kind']);
  t.same(Object.keys(doc.clusters[0].kind), ['release', 'nodeImage', 'calico', 'calicoPinned', 'calicoTested', 'kubeadmApi', 'notes']);
  t.same(Object.keys(doc.suites[0]), ['id', 'title', 'required']);
  t.same(doc.driver, { kind: 'path', path: '/x/drivers/flexvolume/datera~iscsi/iscsi', reference: true });
  t.equal(doc.suites.length, 11);
  const e = JSON.parse(planJson(makePlan({ ...base, cluster: 'existing', versions: [], kubeconfig: '/kc', driver: { kind: 'image', image: 'd:1' }, backend: { kind: 'datera', url: 'http://h:1' } })));
  t.same(Object.keys(e.clusters[0]), ['provider', 'version', 'label', 'emulated', 'kubeconfig']);
  t.same(e.driver, { kind: 'image', image: 'd:1' });
  t.same(e.backend, { kind: 'datera', url: 'http://h:1' });
});

t.test('parallelFrom: carried into the plan and printed after parallel only when the memory budget decided it', async (t) => {
  const warning = 'one kind cluster needs about 4608 MiB (3 nodes x 1536 MiB) but the budget is 3000 MiB; running one at a time anyway';
  const p = makePlan({ ...base, cluster: 'kind', versions: ['v1.30', 'v1.32'], parallel: 1, parallelFrom: { warning, perClusterMiB: 4608, memoryBudgetMiB: 3000 } });
  t.same(p.parallelFrom, { memoryBudgetMiB: 3000, perClusterMiB: 4608, warning });
  const doc = JSON.parse(planJson(p));
  t.same(Object.keys(doc), ['schema', 'provider', 'clusters', 'suites', 'driver', 'backend', 'parallel', 'parallelFrom', 'reportDir', 'configFile']);
  t.same(Object.keys(doc.parallelFrom), ['memoryBudgetMiB', 'perClusterMiB', 'warning'], 'fixed key order');
  t.equal(doc.parallelFrom.warning, warning);
  const fits = JSON.parse(planJson(makePlan({ ...base, cluster: 'kind', versions: ['v1.30', 'v1.32'], parallel: 2, parallelFrom: { memoryBudgetMiB: 12_000, perClusterMiB: 4608 } })));
  t.same(fits.parallelFrom, { memoryBudgetMiB: 12_000, perClusterMiB: 4608 }, 'no warning key when it fits');
  t.equal(fits.parallel, 2);
  t.notOk('parallelFrom' in makePlan(base), 'absent when --parallel or the provider decided');
});
