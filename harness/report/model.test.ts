import t from 'tap';
import { driverLabel, formatDuration, hostInfo, matrixAxes, readOnlyClean, resultAt, summarize, verdict, type ScenarioResult } from './model.js';
import { sampleReport } from './sample-report.js';

const res = (id: string, status: ScenarioResult['status'], required = true, k8sVersion = 'v1.32.9 (emulated)'): ScenarioResult => ({
  id, title: id, k8sVersion, status, durationMs: 10, checks: [], artifacts: [], required,
});

t.test('summarize counts every status and the total', async (t) => {
  t.same(summarize([res('a', 'passed'), res('b', 'failed'), res('c', 'failed'), res('d', 'error'), res('e', 'skipped'), res('f', 'missing')]), {
    passed: 1, failed: 2, error: 1, skipped: 1, missing: 1, total: 6,
  });
  t.same(summarize([]), { passed: 0, failed: 0, error: 0, skipped: 0, missing: 0, total: 0 });
});

t.test('verdict: true only when every required result passed', async (t) => {
  t.equal(verdict({ results: [res('a', 'passed'), res('b', 'passed')] }), true);
  t.equal(verdict({ results: [res('a', 'passed'), res('lint', 'failed', false)] }), true, 'an optional failure does not fail the run');
  for (const s of ['failed', 'error', 'skipped', 'missing'] as const) {
    t.equal(verdict({ results: [res('a', 'passed'), res('b', s)] }), false, `a required ${s} fails the run`);
  }
  t.equal(verdict({ results: [] }), false, 'an empty run proves nothing');
  t.equal(verdict({ results: [res('lint', 'passed', false)] }), false, 'nothing required, nothing proven');
});

t.test('readOnlyClean: what ran passed, skips allowed, something required passed', async (t) => {
  t.equal(readOnlyClean({ results: [res('a', 'passed'), res('b', 'skipped')] }), true);
  t.equal(readOnlyClean({ results: [res('a', 'passed'), res('lint', 'failed', false)] }), true, 'an optional failure does not count');
  for (const s of ['failed', 'error', 'missing'] as const) t.equal(readOnlyClean({ results: [res('a', 'passed'), res('b', s)] }), false, `a required ${s} is a problem`);
  t.equal(readOnlyClean({ results: [res('a', 'skipped')] }), false, 'nothing ran');
  t.equal(readOnlyClean({ results: [] }), false);
});

t.test('hostInfo describes this host', async (t) => {
  const h = hostInfo();
  t.equal(h.node, process.version);
  t.match(h.os, /\S/);
  t.match(h.kernel, /\d/);
});

t.test('matrix axes: versions in cluster order then result-only ones, scenarios in first-seen order', async (t) => {
  const r = sampleReport({ versions: 2 });
  r.results.push(res('extra', 'passed', true, 'v1.99.0'));
  const { versions, scenarios } = matrixAxes(r);
  t.same(versions, ['v1.32.9 (emulated)', 'v1.35.0 (emulated)', 'v1.99.0']);
  t.equal(scenarios[0], 'bind-static');
  t.equal(scenarios.at(-1), 'extra');
  t.equal(scenarios.length, 12);
  t.equal(resultAt(r, 'extra', 'v1.99.0')?.id, 'extra');
  t.equal(resultAt(r, 'extra', 'v1.32.9 (emulated)'), undefined);
});

t.test('driverLabel and formatDuration', async (t) => {
  t.equal(driverLabel({ path: '/x/iscsi' }), '/x/iscsi');
  t.equal(driverLabel({ image: 'datera/flex:1', version: '1.0.7' }), 'datera/flex:1 (1.0.7)');
  t.equal(formatDuration(849.6), '850 ms');
  t.equal(formatDuration(12_345), '12.3 s');
  t.equal(formatDuration(245_000), '4 min 05 s');
});
