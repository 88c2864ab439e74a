import t from 'tap';
import { failureBody, renderJunit } from './junit.js';
import { SAMPLE_SECRET, sampleReport } from './sample-report.js';
import { findAll, parseXml, textOf } from './xml-check.js';

t.test('junit.xml parses, with one testsuite per version and one testcase per scenario', async (t) => {
  const report = sampleReport({ failures: true });
  const xml = renderJunit(report, [SAMPLE_SECRET]);
  const root = parseXml(xml);
  t.equal(root.name, 'testsuites');
  t.match(root.attrs, { name: 'dkc', tests: '66', failures: '6', errors: '4', skipped: '1' }, 'missing counts as an error');
  t.equal(root.attrs.time, (report.durationMs / 1000).toFixed(3), 'time in seconds');
  const suites = findAll(root, 'testsuite');
  t.same(suites.map((s) => s.attrs.name), report.environment.clusters.map((c) => c.k8sVersion));
  t.equal(findAll(suites[1], 'testcase').length, 11);
  const props = Object.fromEntries(findAll(suites[0], 'property').map((p) => [p.attrs.name, p.attrs.value]));
  t.match(props, { provider: 'embedded', emulated: 'true', nodes: '2', backend: 'mock 127.0.0.1:7717' });

  const cases = findAll(root, 'testcase');
  const mysql = cases.find((c) => c.attrs.name === 'statefulset-mysql' && c.attrs.classname === 'dkc.v1.10.13 (emulated)');
  t.ok(mysql, 'classname is dkc.<k8sVersion>');
  const failure = findAll(mysql!, 'failure')[0];
  t.equal(failure.attrs.message, 'row checksums differ after mysql-1 was rescheduled to embedded-worker2');
  const body = textOf(failure);
  t.match(body, '[failed] rows written in mysql-1 survive rescheduling: expected 1000 rows');
  t.match(body, '<script>alert(1)</script> & "quotes" \'single\' ]]> red bell\\x07 lone\ufffd', 'evidence survives CDATA intact, cleaned');
  t.match(body, '"password":"***"');
  t.equal(mysql!.attrs.time, (report.results.find((r) => r === report.results[11 + 2])!.durationMs / 1000).toFixed(3));

  const reclaim = cases.find((c) => c.attrs.name === 'reclaim' && c.attrs.classname.startsWith('dkc.v1.20'));
  t.equal(findAll(reclaim!, 'error')[0].attrs.type, 'error');
  const missing = cases.find((c) => c.attrs.name === 'hygiene' && c.attrs.classname.startsWith('dkc.v1.35'));
  t.match(findAll(missing!, 'error')[0].attrs, { type: 'missing', message: /interrupted/ });
  const skipped = cases.find((c) => c.attrs.name === 'scale' && c.attrs.classname.startsWith('dkc.v1.6'));
  t.match(findAll(skipped!, 'skipped')[0].attrs.message, /needs v1.27/);
  const passed = cases.find((c) => c.attrs.name === 'bind-static');
  t.equal(passed!.children.filter((c) => typeof c !== 'string' && c.name !== 'system-out').length, 0, 'a pass has no failure element');
  t.match(textOf(findAll(passed!, 'system-out')[0]), 'artifact: driver.log artifacts/');
  t.notMatch(xml, SAMPLE_SECRET);
});

t.test('failure bodies and messages fall back sensibly', async (t) => {
  const report = sampleReport({ versions: 1 });
  const r = report.results[0];
  r.status = 'failed';
  r.checks = [{ name: 'c1', status: 'failed' }, { name: 'c2', status: 'skipped', message: 'n/a' }];
  t.equal(failureBody(r), '[failed] c1');
  r.status = 'error';
  r.checks = [{ name: 'c', status: 'error', message: 'tgtd died', evidence: 'log\n' }];
  const xml = renderJunit(report);
  t.match(xml, /<error message="tgtd died" type="error"><!\[CDATA\[\[error\] c: tgtd died\nlog\]\]><\/error>/);
  r.checks = [];
  t.match(renderJunit(report), /<error message="error" type="error">/);
  report.results[1].status = 'missing';
  report.environment.clusters = [];
  const root = parseXml(renderJunit(report));
  t.match(findAll(root, 'error')[1].attrs, { type: 'missing', message: 'planned but never ran' });
  t.equal(findAll(root, 'property').length, 3, 'no cluster: only the run-wide properties');
});
