// The conformance run end to end on the embedded cluster, as `npm start` runs it but for one version (DKC_E2E_K8S,
// default v1.32): every scenario against the reference driver, through the real run loop (scenario processes,
// result lines, reports). Every required scenario must pass, every check must pass or be skipped with a reason,
// and the four reports must be written. Needs root and the node tools; skips with the reason otherwise.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingFacility } from '../../clusters/embedded/node/runtime/root-test-env.js';
import { stopClustersOnSignals } from '../../clusters/embedded/cluster.js';
import { loadRunConfig, SUITES } from '../plan/config.js';
import { runConformance } from './run.js';
import { createProgress } from './progress.js';

const skip = (await missingFacility(['busybox', 'mariadbd', 'tgtd', 'qemu-storage-daemon', 'mkfs.xfs', 'losetup'])) ?? (existsSync('dist/suites/bind-dynamic/scenario.js') ? undefined : 'dist/ is not built (npm run build)');
if (skip) t.comment(`skipping the embedded conformance run: ${skip}`);

if (!skip) {
  stopClustersOnSignals();
  const version = process.env.DKC_E2E_K8S ?? 'v1.32';
  const reportDir = await mkdtemp(join(tmpdir(), 'dkc-conformance-'));
  t.teardown(() => rm(reportDir, { recursive: true, force: true }));
  const lines: string[] = [];
  const t0 = performance.now();
  const report = await runConformance(loadRunConfig({ cluster: 'embedded', k8s: version, reportDir }), {
    progress: createProgress({ live: false, stream: { write: (s: string) => lines.push(s) }, out: { write: (s: string) => lines.push(s) } }),
  });
  const wall = performance.now() - t0;
  t.comment(`conformance run on ${version}: ${(wall / 1000).toFixed(1)} s`);
  for (const r of report.results) t.comment(`  ${r.id.padEnd(18)} ${r.status.padEnd(7)} ${(r.durationMs / 1000).toFixed(1)} s`);

  t.test('every scenario ran on the cluster', async (t) => {
    const ids = report.results.filter((r) => r.id !== 'teardown').map((r) => r.id);
    t.same(ids, SUITES.map((s) => s.id), 'one result per suite, in run order');
  });

  t.test('every required scenario passed against the reference driver', async (t) => {
    for (const r of report.results.filter((x) => x.required)) {
      const failing = r.checks.filter((c) => c.status !== 'passed' && c.status !== 'skipped');
      t.equal(r.status, 'passed', `${r.id}: ${r.status}${r.message ? ` (${r.message})` : ''}${failing.length ? `; failing: ${failing.map((c) => `${c.name}: ${c.message ?? ''}`).join(' | ')}` : ''}`);
    }
  });

  t.test('checks are real: each scenario made checks, and every skip says why', async (t) => {
    for (const r of report.results.filter((x) => x.id !== 'teardown')) {
      t.ok(r.checks.length > 0, `${r.id} recorded checks`);
      for (const c of r.checks.filter((x) => x.status === 'skipped')) t.ok(c.message && c.message.length > 10, `${r.id} / ${c.name}: skipped with a reason (${c.message})`);
    }
    const lint = report.results.find((r) => r.id === 'security-lint');
    t.equal(lint?.status, 'failed', 'the lint flags the inline-credential PV it made (an optional scenario: a warning)');
  });

  t.test('the reports are written, and no secret is in them', async (t) => {
    for (const f of ['report.json', 'junit.xml', 'report.md', 'report.html']) t.ok(existsSync(join(reportDir, f)), f);
    const json = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as { summary: Record<string, number> };
    t.equal(json.summary.total, report.results.length);
    t.match(lines.join('\n'), /passed, \d+ failed, \d+ error, \d+ skipped, \d+ missing/, 'progress ends with the counts');
  });
}
