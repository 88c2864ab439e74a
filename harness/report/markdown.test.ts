import t from 'tap';
import { fenced, mdText, renderMarkdown } from './markdown.js';
import { SAMPLE_SECRET, sampleReport } from './sample-report.js';

t.test('report.md: verdict, environment, matrix and failures with evidence', async (t) => {
  const md = renderMarkdown(sampleReport({ failures: true }), [SAMPLE_SECRET]);
  t.match(md, /^# Datera FlexVolume conformance: FAILED\n/);
  t.match(md, '**66 results:** ✅ 55 passed · ❌ 6 failed · ⚠️ 1 error · ⏭️ 1 skipped · ❔ 3 missing');
  t.match(md, '| Kubernetes | v1.6.13 (emulated) (emulated cluster), 2 nodes |');
  const lines = md.split('\n');
  const header = lines.find((l) => l.startsWith('| Scenario |'))!;
  t.equal(header.split('|').length - 3, 6, 'six version columns');
  const rows = lines.filter((l) => /^\| [a-z-]+ \| (✅|❌|⚠️|⏭️|❔)/.test(l));
  t.equal(rows.length, 11, 'eleven scenario rows');
  t.match(rows.find((l) => l.startsWith('| scale |')), /^\| scale \| ⏭️ /);
  t.match(rows.find((l) => l.startsWith('| reclaim |')), /\| ⚠️ 1\.\d s \|/);
  t.match(md, '### ❌ statefulset-mysql on v1.10.13 (emulated)\n');
  t.match(md, '### ❌ security-lint on v1.6.13 (emulated) (not required)');
  t.match(md, / {2}````text\n {2}--- expected\n/, 'evidence fenced longer than the ``` it contains, indented under its check');
  t.match(md, '- ❌ rows written in mysql-1 survive rescheduling: expected 1000 rows');
  t.match(md, '<script>alert(1)</script>', 'evidence is verbatim inside its fence, where Markdown renders no HTML');
  t.notMatch(md.replace(/^ *`{3,}text\n[\s\S]*?\n *`{3,}$/gm, ''), '<script>', 'and nowhere outside a fence');
  t.notMatch(md, SAMPLE_SECRET);
  t.notOk(md.includes('\u001b') || md.includes('\u0007'), 'no control characters');
});

t.test('a clean run says PASSED and lists no failures; missing cells are marked', async (t) => {
  const report = sampleReport({ versions: 1 });
  report.environment.clusters.push({ k8sVersion: 'v1.33.4', emulated: false, kindRelease: 'v0.30.0', nodeImage: 'kindest/node:v1.33.4', calico: 'v3.30.3', nodes: 3 });
  report.environment.backend = { kind: 'datera', server: 'https://dsp.example:7718' };
  const md = renderMarkdown(report);
  t.match(md, '# Datera FlexVolume conformance: PASSED');
  t.match(md, '## Failures\n\nNone.');
  t.match(md, '| Kubernetes | v1.33.4, 3 nodes, kind v0.30.0, image kindest/node:v1.33.4, Calico v3.30.3 |');
  t.match(md, '| Backend | Datera at https://dsp.example:7718 |');
  t.match(md, /\| bind-static \| ✅ [\d.]+ s \| — \|/, 'a version without this scenario shows a dash');
});

t.test('a read-only run never says PASSED: it says what the non-destructive checks found', async (t) => {
  const report = sampleReport({ versions: 1 });
  report.environment.readOnly = true;
  report.results[1]!.status = 'skipped';
  const md = renderMarkdown(report);
  t.match(md, /^# Datera FlexVolume conformance: READ-ONLY CHECK, no problem found\n\n> Read-only run: scenarios that create or delete storage were skipped, so this report cannot qualify a driver\./);
  t.match(md, '| Mode | read-only (non-destructive checks only) |');
  report.results[0]!.status = 'failed';
  t.match(renderMarkdown(report), /^# Datera FlexVolume conformance: READ-ONLY CHECK, PROBLEMS FOUND/);
  t.notMatch(renderMarkdown(sampleReport({ versions: 1 })), /Mode|READ-ONLY/, 'a normal run has neither');
});

t.test('mdText and fenced neutralise Markdown and HTML', async (t) => {
  t.equal(mdText('a|b *c* _d_ [e](f) <g> & `h`\n#i'), 'a\\|b \\*c\\* \\_d\\_ \\[e\\](f) &lt;g&gt; &amp; \\`h\\` \\#i');
  t.equal(fenced('plain\n'), '```text\nplain\n```');
  t.equal(fenced('has ````` five'), '``````text\nhas ````` five\n``````');
});
