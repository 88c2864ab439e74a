// The same suites against an existing cluster: an embedded cluster started separately stands in for a vendor's lab
// cluster, reached only through its kubeconfig and the Datera API URL and credentials (here the cluster's own mock,
// given like a real system's: DATERA_USER / DATERA_PASSWORD). The existing provider has no node access and does not
// assume a provisioner, so node checks and dynamic scenarios skip with their reasons while the API-level scenarios
// run unchanged. Needs root and the node tools.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingFacility } from '../../clusters/embedded/node/runtime/root-test-env.js';
import { EmbeddedCluster, stopClustersOnSignals } from '../../clusters/embedded/cluster.js';
import { clusterProfile } from '../../clusters/embedded/profiles.js';
import { loadRunConfig } from '../plan/config.js';
import { runConformance } from './run.js';
import { createProgress } from './progress.js';

const skip = (await missingFacility(['busybox', 'tgtd', 'qemu-storage-daemon', 'mkfs.xfs', 'losetup'])) ?? (existsSync('dist/suites/bind-static/scenario.js') ? undefined : 'dist/ is not built (npm run build)');
if (skip) t.comment(`skipping the existing-cluster run: ${skip}`);
else {
  stopClustersOnSignals();
  const cluster = await EmbeddedCluster.start({ profile: clusterProfile(process.env.DKC_E2E_K8S ?? 'v1.32'), nodes: 2 });
  t.teardown(async () => {
    const left = await cluster.stop();
    if (left.length) throw new Error(`cluster cleanup left: ${left.join('; ')}`);
  });
  const reportDir = await mkdtemp(join(tmpdir(), 'dkc-existing-'));
  t.teardown(() => rm(reportDir, { recursive: true, force: true }));
  const b = cluster.backend!;
  const sink = { write: () => true };
  const suites = ['node-preflight', 'network', 'bind-static', 'bind-dynamic', 'security-lint', 'hygiene'];
  const report = await runConformance(loadRunConfig({ cluster: 'existing', kubeconfig: cluster.kubeconfigPath, backend: b.url, suite: suites.join(','), reportDir }), {
    progress: createProgress({ live: false, stream: sink, out: sink }),
    env: { ...process.env, DATERA_USER: b.user, DATERA_PASSWORD: b.password },
  });
  const byId = new Map(report.results.map((r) => [r.id, r]));
  for (const r of report.results) t.comment(`${r.id}: ${r.status}${r.message ? ` (${r.message})` : ''}`);

  t.test('the cluster is reported with its real version string, not as emulated by the harness', async (t) => {
    t.match(report.environment.clusters[0]?.k8sVersion, /^v1\.\d+\.\d+/);
    t.equal(report.environment.provider, 'existing');
  });
  t.test('API-level scenarios run unchanged and pass', async (t) => {
    for (const id of ['network', 'bind-static', 'hygiene']) t.equal(byId.get(id)?.status, 'passed', `${id}: ${byId.get(id)?.message ?? ''}`);
    t.equal(byId.get('security-lint')?.status, 'failed', 'the lint still flags the inline-credential PV it made');
  });
  t.test('what needs node access or a provisioner is skipped with the reason, never passed', async (t) => {
    t.equal(byId.get('bind-dynamic')?.status, 'skipped', 'no provisioner is assumed on an existing cluster');
    t.match(byId.get('bind-dynamic')?.message, /provisioner/);
    const pre = byId.get('node-preflight');
    t.ok(pre?.checks.some((c) => c.status === 'skipped' && /node access/.test(c.message ?? '')), 'node checks skipped for lack of node access');
    t.ok(pre?.checks.some((c) => c.status === 'passed'), 'the API-only check ran');
  });
  t.test('the existing cluster is left as it was: the harness removed only what it made', async (t) => {
    const ns = cluster.store.list('core/namespaces').items.map((n) => n.metadata.name);
    t.notOk(ns.some((n) => String(n).startsWith('dkc-')), 'no scenario namespace left');
    t.same(cluster.nodes().length, 2, 'the nodes are still there');
  });
}
