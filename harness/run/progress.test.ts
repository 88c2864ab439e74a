import t from 'tap';
import type { ScenarioResult } from '../report/model.js';
import { countsLine, createProgress, resultLine } from './progress.js';

const result = (o: Partial<ScenarioResult>): ScenarioResult => ({ id: 'bind-static', title: 'x', k8sVersion: 'v1.32.9 (emulated)', status: 'passed', durationMs: 12_345, checks: [], artifacts: [], required: true, ...o });
const sink = (tty = false, columns = 80) => {
  const s = { text: '', isTTY: tty, columns, write: (x: string) => (s.text += x) };
  return s;
};
const summary = { passed: 1, failed: 1, error: 0, skipped: 0, missing: 2, total: 4 };
const L = 'v1.32.9 (emulated)';
const ESC = '\x1b';

t.test('result lines: passed with its time, failed with the first failing check, error, skipped and not run with their reasons', async (t) => {
  t.equal(resultLine(result({})), 'bind-static passed (12.3 s)');
  t.equal(
    resultLine(result({ status: 'failed', checks: [{ name: 'binds', status: 'passed' }, { name: 'size matches', status: 'failed', message: 'wanted 1Gi\ngot 2Gi' }, { name: 'later', status: 'failed' }] })),
    'bind-static failed (12.3 s): size matches: wanted 1Gi',
  );
  t.equal(resultLine(result({ status: 'failed', checks: [{ name: 'setup', status: 'error' }], message: 'setup broke' })), 'bind-static failed (12.3 s): setup: setup broke');
  t.equal(resultLine(result({ status: 'failed', message: 'no checks' })), 'bind-static failed (12.3 s): no checks');
  t.equal(resultLine(result({ status: 'failed' })), 'bind-static failed (12.3 s)');
  t.equal(resultLine(result({ status: 'error', durationMs: 900, message: 'exited 3\nstack' })), 'bind-static error (900 ms): exited 3');
  t.equal(resultLine(result({ status: 'error' })), 'bind-static error (12.3 s)');
  t.equal(resultLine(result({ status: 'skipped', message: 'no node access' })), 'bind-static skipped: no node access');
  t.equal(resultLine(result({ status: 'skipped' })), 'bind-static skipped');
  t.equal(resultLine(result({ status: 'missing', message: 'not run: interrupted' })), 'bind-static not run: not run: interrupted');
  t.equal(resultLine(result({ status: 'missing' })), 'bind-static not run');
  t.equal(resultLine(result({ status: 'error', message: 'x'.repeat(400) })).length, 'bind-static error (12.3 s): '.length + 300, 'long messages are clipped');
  t.equal(countsLine(summary), '1 passed, 1 failed, 0 error, 0 skipped, 2 missing');
});

t.test('plain lines (CI, pipes): one per event, prefixed with the cluster; the summary and report paths on the output stream', async (t) => {
  const err = sink();
  const out = sink();
  const p = createProgress({ stream: err, out, env: {} });
  p.event({ type: 'cluster-starting', key: 0, label: L, provider: 'embedded' });
  p.event({ type: 'cluster-ready', key: 0, label: L, ms: 35_200, nodes: 2 });
  p.event({ type: 'suite-started', key: 0, label: L, suite: 'bind-static', index: 3, total: 11 });
  p.event({ type: 'suite-finished', key: 0, label: L, result: result({}) });
  p.event({ type: 'cluster-stopping', key: 0, label: L });
  p.event({ type: 'cluster-stopped', key: 0, label: L, leftovers: [] });
  p.event({ type: 'cluster-starting', key: 1, label: 'v1.35.0 (emulated)', provider: 'embedded' });
  p.event({ type: 'cluster-failed', key: 1, label: 'v1.35.0 (emulated)', message: 'did not start: no tgtd\nmore' });
  p.event({ type: 'cluster-ready', key: 2, label: 'v1.33.4', ms: 10, nodes: 1 });
  p.event({ type: 'cluster-stopped', key: 2, label: 'v1.33.4', leftovers: ['mount /x', 'netns y'] });
  p.event({ type: 'note', message: 'a note' });
  p.finish({ summary, reports: { json: '/r/report.json', html: '/r/report.html' }, verdict: false, interrupted: false });
  t.equal(
    err.text,
    [
      '[v1.32.9 (emulated)] starting the embedded cluster',
      '[v1.32.9 (emulated)] cluster ready in 35.2 s (2 nodes)',
      '[v1.32.9 (emulated)] bind-static running (3/11)',
      '[v1.32.9 (emulated)] bind-static passed (12.3 s)',
      '[v1.32.9 (emulated)] collecting artifacts and removing the cluster',
      '[v1.32.9 (emulated)] cluster removed',
      '[v1.35.0 (emulated)] starting the embedded cluster',
      '[v1.35.0 (emulated)] cluster failed to start: did not start: no tgtd',
      '[v1.33.4] cluster ready in 10 ms (1 node)',
      '[v1.33.4] teardown left: mount /x; netns y',
      'a note',
      '',
    ].join('\n'),
  );
  t.notOk(err.text.includes(ESC), 'no escape sequences');
  t.equal(out.text, '1 passed, 1 failed, 0 error, 0 skipped, 2 missing\nverdict: NOT QUALIFIED\n  json     /r/report.json\n  html     /r/report.html\n');
  const ok = sink();
  createProgress({ stream: sink(), out: ok, live: false }).finish({ summary, reports: {}, verdict: true, interrupted: false });
  t.match(ok.text, /verdict: QUALIFIED/);
});

t.test('on a terminal: no live view in CI; the live view redraws one line per cluster and prints failures above it', async (t) => {
  const ci = sink(true);
  createProgress({ stream: ci, out: sink(), env: { CI: 'true' } }).event({ type: 'cluster-starting', key: 0, label: L, provider: 'embedded' });
  t.equal(ci.text, '[v1.32.9 (emulated)] starting the embedded cluster\n', 'CI set: plain lines even on a TTY');

  const tty = sink(true, 200);
  const out = sink();
  const p = createProgress({ stream: tty, out, env: {}, intervalMs: 20 });
  p.event({ type: 'cluster-starting', key: 0, label: L, provider: 'embedded' });
  p.event({ type: 'cluster-starting', key: 1, label: 'v1.35.0 (emulated)', provider: 'embedded' });
  p.event({ type: 'cluster-ready', key: 0, label: L, ms: 1000, nodes: 2 });
  p.event({ type: 'suite-started', key: 0, label: L, suite: 'bind-static', index: 3, total: 11 });
  p.event({ type: 'suite-finished', key: 0, label: L, result: result({}) });
  p.event({ type: 'suite-finished', key: 0, label: L, result: result({ id: 'scale', status: 'failed', checks: [{ name: 'pvc kept', status: 'failed', message: 'gone' }] }) });
  p.event({ type: 'note', message: 'a note' });
  const before = tty.text.length;
  await new Promise((r) => setTimeout(r, 70));
  t.match(tty.text.slice(before), /⠙|⠹|⠸/, 'the spinner turns between events');
  p.event({ type: 'cluster-failed', key: 1, label: 'v1.35.0 (emulated)', message: 'no tgtd' });
  p.event({ type: 'cluster-stopping', key: 0, label: L });
  p.event({ type: 'cluster-stopped', key: 0, label: L, leftovers: ['mount /x'] });
  const idle = tty.text.length;
  await new Promise((r) => setTimeout(r, 70));
  t.equal(tty.text.length, idle, 'nothing running: no redraws');
  p.finish({ summary, reports: { json: '/r/report.json' }, verdict: false, interrupted: true });
  const after = tty.text.length;
  await new Promise((r) => setTimeout(r, 60));
  t.equal(tty.text.length, after, 'no redraw after finish');
  t.ok(tty.text.includes(`${ESC}[2A\r${ESC}[J`), 'redraws in place (cursor up over the two cluster lines)');
  t.match(tty.text, /\[v1\.32\.9 \(emulated\)\] scale failed \([^)]+\): pvc kept: gone\n/, 'a failure is printed above the view');
  t.match(tty.text, /\[v1\.35\.0 \(emulated\)\] cluster failed to start: no tgtd\n/);
  t.match(tty.text, /\[v1\.32\.9 \(emulated\)\] teardown left: mount \/x\n/);
  t.match(tty.text, /a note\n/);
  t.match(tty.text, /bind-static \(3\/11\)/, 'the current suite and its place');
  // The final frame: both clusters, their state and counts.
  const last = tty.text.slice(tty.text.lastIndexOf(`${ESC}[J`) + 3);
  t.equal(last, '  v1.32.9 (emulated)  teardown left things behind   ✔ 1  ✘ 1\n  v1.35.0 (emulated)  failed to start\n');
  t.match(out.text, /^1 passed, 1 failed, 0 error, 0 skipped, 2 missing\ninterrupted: the report lists what did not run as missing\n/);

  const narrow = sink(true, 30);
  const n = createProgress({ stream: narrow, out: sink(), live: true });
  n.event({ type: 'suite-started', key: 0, label: L, suite: 'statefulset-mysql', index: 5, total: 11 });
  n.finish({ summary, reports: {}, verdict: false, interrupted: false });
  for (const line of narrow.text.replace(new RegExp(`${ESC}\\[[0-9]*[AJ]|\\r`, 'g'), '').split('\n')) t.ok(line.length <= 29, `fits the terminal: '${line}'`);
});
