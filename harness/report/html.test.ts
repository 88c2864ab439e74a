import t from 'tap';
import { renderHtml } from './html.js';
import { SAMPLE_SECRET, sampleReport } from './sample-report.js';
import { findAll, parseXml, textOf, type XmlElement } from './xml-check.js';

const byClass = (root: XmlElement, tag: string, cls: string) => findAll(root, tag).filter((e) => (e.attrs.class ?? '').split(' ').includes(cls));

t.test('report.html is balanced markup with the verdict, environment, matrix and failures', async (t) => {
  const report = sampleReport({ failures: true });
  const html = renderHtml(report, [SAMPLE_SECRET]);
  const root = parseXml(html);
  t.equal(root.name, 'html');
  t.match(textOf(findAll(root, 'header')[0]), /NOT QUALIFIED[\s\S]*55 of 60 required results passed on 6 Kubernetes versions/);
  t.equal(byClass(root, 'header', 'fail').length, 1);

  const env = textOf(findAll(root, 'section').find((s) => s.attrs.id === 'environment')!);
  t.match(env, 'drivers/flexvolume/datera~iscsi/iscsi (0.1.0)');
  t.match(env, 'mock Datera API at 127.0.0.1:7717');
  t.match(env, 'v1.35.0 (emulated)emulated (embedded cluster)2');

  const matrix = byClass(root, 'table', 'matrix')[0];
  t.same(findAll(findAll(matrix, 'thead')[0], 'th').map(textOf).slice(1), report.environment.clusters.map((c) => c.k8sVersion));
  const rows = findAll(findAll(matrix, 'tbody')[0], 'tr');
  t.equal(rows.length, 11);
  const cells = rows.flatMap((r) => findAll(r, 'td'));
  t.equal(cells.length, 66);
  t.equal(cells.filter((c) => c.attrs.class === 'st-failed').length, 6);
  t.equal(cells.filter((c) => c.attrs.class === 'st-missing').length, 3);
  t.match(textOf(cells.find((c) => c.attrs.class === 'st-missing')!), 'not run');

  // Every cell links to exactly one result block with that id.
  const ids = new Map(findAll(root, 'details').filter((d) => d.attrs.id).map((d) => [d.attrs.id, d]));
  t.equal(ids.size, 66, 'one block per result, ids unique');
  for (const a of cells.flatMap((c) => findAll(c, 'a'))) t.ok(ids.has(a.attrs.href.slice(1)), `${a.attrs.href} exists`);

  const failures = findAll(root, 'section').find((s) => s.attrs.id === 'failures')!;
  const blocks = byClass(failures, 'details', 'result');
  t.equal(blocks.length, 10);
  t.ok(blocks.slice(0, 4).every((b) => b.attrs.open === ''), 'required failures come first, open');
  t.match(textOf(blocks[0]), /statefulset-mysql[\s\S]*row checksums differ[\s\S]*--- expected/);
  t.equal(blocks.at(-1)!.attrs.open, undefined, 'optional failures are folded');
  const pre = findAll(blocks[0], 'pre').map(textOf).join('\n');
  t.match(pre, '<script>alert(1)</script> & "quotes"', 'evidence shown as text');
  t.match(pre, '"password":"***","token":"***"');

  t.notMatch(html, SAMPLE_SECRET);
  t.notMatch(html, /<script|<link|<img|<iframe|\ssrc=|@import|url\(/i, 'no scripts, no external assets');
  t.equal(findAll(root, 'style').length, 1, 'CSS inline');
});

t.test('a clean run says QUALIFIED; real versions show kind and Calico; odd artifact paths are not linked', async (t) => {
  const report = sampleReport({ versions: 1 });
  report.environment.provider = 'kind';
  report.environment.driver = { image: 'datera/flex:1.0.7' };
  report.environment.clusters = [{ k8sVersion: 'v1.33.4', emulated: false, kindRelease: 'v0.30.0', nodeImage: 'kindest/node:v1.33.4', calico: 'v3.30.3', nodes: 3 }];
  report.results.forEach((r) => (r.k8sVersion = 'v1.33.4'));
  report.results[0].artifacts.push({ name: 'evil', path: 'javascript:alert(1)' });
  report.results[1].status = 'skipped';
  report.results[1].required = false;
  report.results[2].checks = [];
  const root = parseXml(renderHtml(report));
  t.match(textOf(findAll(root, 'header')[0]), /QUALIFIED[\s\S]*9 of 9 required results passed on 1 Kubernetes version\s\(kind provider\)/);
  t.equal(byClass(root, 'header', 'pass').length, 1);
  t.match(textOf(findAll(root, 'section')[0]), 'v1.33.4real3v0.30.0kindest/node:v1.33.4v3.30.3');
  t.notOk(findAll(root, 'a').some((a) => a.attrs.href.startsWith('javascript:')));
  t.match(textOf(root), 'evil javascript:alert(1)');
  t.match(textOf(root), 'None: every scenario that ran passed');
  t.match(textOf(root), 'no checks recorded');
  t.match(textOf(root), '* not required');
});

t.test('a read-only run is never QUALIFIED: grey when its checks found nothing, red when they did', async (t) => {
  const report = sampleReport({ versions: 1 });
  report.environment.readOnly = true;
  report.results[1]!.status = 'skipped';
  const clean = renderHtml(report);
  t.match(clean, '<header class="verdict partial">');
  t.match(clean, '<div class="badge">READ-ONLY: NO PROBLEM FOUND</div>');
  t.match(clean, '<th scope="row">Mode</th><td>read-only: non-destructive checks only</td>');
  t.notMatch(clean, />QUALIFIED</);
  report.results[0]!.status = 'failed';
  const bad = renderHtml(report);
  t.match(bad, '<header class="verdict fail">');
  t.match(bad, '<div class="badge">READ-ONLY: PROBLEMS FOUND</div>');
  parseXml(bad);
});

t.test('an empty report still renders', async (t) => {
  const report = sampleReport({ versions: 1 });
  report.results = [];
  report.environment.clusters = [];
  const root = parseXml(renderHtml(report));
  t.match(textOf(root), 'NOT QUALIFIED');
  t.match(textOf(root), 'none recorded');
  t.match(textOf(root), 'no results');
});
