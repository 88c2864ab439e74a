import t from 'tap';
import { buildResult, parseResults, tail, type ProcessEnd } from './results.js';

const base = { id: 'bind-static', title: 'Static binding', required: true, k8sVersion: 'v1.32.9 (emulated)', durationMs: 1234.4, artifacts: [{ name: 'bind-static.tap.txt', path: 'artifacts/x/bind-static.tap.txt' }] };
const ok: ProcessEnd = { exitCode: 0, signal: null, stderrTail: '' };
const lines = (...xs: object[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
const check = (name: string, status: string, extra: object = {}) => ({ type: 'check', scenario: 'bind-static', name, status, durationMs: 5, ...extra });
const scen = (status: string, extra: object = {}) => ({ type: 'scenario', scenario: 'bind-static', status, durationMs: 9, ...extra });

t.test('parseResults keeps checks in order with messages and evidence, the last scenario line, and counts garbage', async (t) => {
  const p = parseResults(
    lines(check('pv binds', 'passed'), check('pending on mismatch', 'failed', { message: 'stayed Bound', evidence: 'events: x' }), check('old kubectl', 'skipped', { message: 'no kubectl 1.6' }), scen('error'), scen('failed', { message: 'one check failed' })) +
      'not json\n{"type":"check","name":"x","status":"flaky"}\n{"type":"other","status":"passed"}\n\n',
  );
  t.same(p.checks, [
    { name: 'pv binds', status: 'passed' },
    { name: 'pending on mismatch', status: 'failed', message: 'stayed Bound', evidence: 'events: x' },
    { name: 'old kubectl', status: 'skipped', message: 'no kubectl 1.6' },
  ]);
  t.same(p.scenario, { status: 'failed', message: 'one check failed' });
  t.equal(p.unreadable, 3);
  t.same(parseResults(''), { checks: [], unreadable: 0 });
});

t.test('the scenario verdict stands when the process agrees with it', async (t) => {
  const passed = buildResult(base, parseResults(lines(check('a', 'passed'), scen('passed'))), ok);
  t.equal(passed.status, 'passed');
  t.notOk('message' in passed);
  t.equal(passed.durationMs, 1234);
  t.same(passed.artifacts, base.artifacts);
  t.equal(passed.required, true);
  t.equal(passed.k8sVersion, 'v1.32.9 (emulated)');
  const failed = buildResult(base, parseResults(lines(check('a', 'failed', { message: 'PV stayed Available' }), scen('failed'))), { ...ok, exitCode: 1 });
  t.equal(failed.status, 'failed', 'tap exits 1 on a failure: still failed, not error');
  t.equal(failed.message, 'a: PV stayed Available', 'no scenario message: the first failing check');
  t.equal(buildResult(base, parseResults(lines(scen('failed'))), ok).message, 'failed (no message)');
  const skipped = buildResult(base, parseResults(lines(scen('skipped', { message: 'no node access on an existing cluster' }))), ok);
  t.equal(skipped.status, 'skipped');
  t.equal(skipped.message, 'no node access on an existing cluster', 'the skip keeps its reason');
  t.equal(buildResult(base, parseResults(lines(scen('skipped'))), ok).message, 'skipped (no reason given)');
  const err = buildResult(base, parseResults(lines(scen('error', { message: 'namespace never went away' }))), { ...ok, exitCode: 1 });
  t.same([err.status, err.message], ['error', 'namespace never went away']);
  t.equal(buildResult(base, parseResults(lines(scen('error'))), ok).message, 'error (no message)');
  t.match(buildResult(base, parseResults(lines(scen('error'))), { ...ok, exitCode: 3, stderrTail: 'boom' }).message, /error; the scenario process exited 3; stderr ends:\nboom/);
});

t.test('a process that disagrees, crashes, hangs or is interrupted is not believed', async (t) => {
  const crashed = buildResult(base, parseResults(lines(check('a', 'passed'))), { exitCode: 1, signal: null, stderrTail: 'line 1\nTypeError: x is undefined\n    at main (scenario.js:3)\n' });
  t.equal(crashed.status, 'error', 'no scenario line');
  t.match(crashed.message, /the scenario process exited 1 without reporting a result; stderr ends:\n.*TypeError: x is undefined/s);
  t.same(crashed.checks, [{ name: 'a', status: 'passed' }], 'the checks it recorded are kept');
  const killed = buildResult(base, parseResults(''), { exitCode: null, signal: 'SIGKILL', stderrTail: '' });
  t.match(killed.message, /was killed by SIGKILL without reporting a result; it wrote nothing on stderr/);
  const liar = buildResult(base, parseResults(lines(check('a', 'passed'), scen('passed'))), { exitCode: 2, signal: null, stderrTail: 'oops' });
  t.same([liar.status, liar.message], ['error', 'the scenario reported passed but its process exited 2; stderr ends:\noops']);
  t.equal(buildResult(base, parseResults(lines(scen('skipped'))), { ...ok, exitCode: 1 }).status, 'error');
  const overFailure = buildResult(base, parseResults(lines(check('b', 'failed', { message: 'wrong size' }), scen('passed'))), ok);
  t.same([overFailure.status, overFailure.message], ['failed', 'b: wrong size (the scenario reported passed over it)'], 'a failing check is never hidden by a passed scenario');
  t.equal(buildResult(base, parseResults(lines(check('b', 'error'), scen('passed'))), ok).status, 'error');
  const timedOut = buildResult(base, parseResults(lines(check('a', 'passed'))), { exitCode: null, signal: 'SIGTERM', timedOutAfterMs: 900_000, stderrTail: 'waiting for pod mysql-0' });
  t.equal(timedOut.status, 'error');
  t.match(timedOut.message, /^timed out after 15 min and was stopped \(SIGTERM, then SIGKILL to its process group\); stderr ends:\nwaiting for pod mysql-0/);
  t.match(buildResult(base, parseResults(''), { ...ok, timedOutAfterMs: 1500 }).message, /after 1\.5 s/);
  t.match(buildResult(base, parseResults(''), { ...ok, timedOutAfterMs: 300 }).message, /after 300 ms/);
  const interrupted = buildResult(base, parseResults(lines(check('a', 'passed'), check('b', 'passed'))), { exitCode: null, signal: 'SIGTERM', interrupted: true, stderrTail: '' });
  t.same([interrupted.status, interrupted.message], ['missing', 'not finished: the run was interrupted while it ran (2 checks recorded)']);
  t.equal(buildResult(base, parseResults(''), { ...ok, interrupted: true }).message, 'not finished: the run was interrupted while it ran');
  const notBuilt = buildResult(base, parseResults(''), { ...ok, notFound: '/x/dist/suites/bind-static/scenario.js' });
  t.same([notBuilt.status, notBuilt.message], ['error', 'no scenario to run: /x/dist/suites/bind-static/scenario.js does not exist (npm run build compiles suites/bind-static/scenario.ts)']);
  const garbage = buildResult(base, parseResults('garbage\n' + lines(scen('failed', { message: 'm' }))), { ...ok, exitCode: 1 });
  t.equal(garbage.message, 'm (1 unreadable results line ignored)');
  t.match(buildResult(base, parseResults('a\nb\n'), ok).message, /\(2 unreadable results lines ignored\)$/);
});

t.test('tail keeps the last non-empty lines, bounded', async (t) => {
  t.equal(tail('a\n\nb\nc\n', 2), 'b\nc');
  t.equal(tail('x'.repeat(50), 12, 10), `...${'x'.repeat(10)}`);
});
