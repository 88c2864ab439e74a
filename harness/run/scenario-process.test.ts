import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, runScenarioProcess } from './scenario-process.js';

/** Running (a zombie waiting for a reaper that is not us counts as gone: it runs nothing). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

async function setup(t: Test, id: string, body: string) {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-scenario-proc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  await mkdir(join(dir, id));
  await writeFile(join(dir, id, 'scenario.js'), body);
  const resultsFile = join(dir, 'results.jsonl');
  const contextFile = join(dir, 'context.json');
  await writeFile(contextFile, JSON.stringify({ resultsFile }));
  return { dir, resultsFile, contextFile, base: { suitesDir: dir, id, contextFile, resultsFile, node: [process.execPath], timeoutMs: 20_000, killGraceMs: 500 } };
}

t.test('runs the scenario with DKC_CONTEXT, keeps its output and reads its results file', async (t) => {
  const s = await setup(
    t,
    'bind-static',
    `import { appendFileSync, readFileSync } from 'node:fs';
const ctx = JSON.parse(readFileSync(process.env.DKC_CONTEXT, 'utf8'));
console.log('TAP version 14');
console.error('a diagnostic');
appendFileSync(ctx.resultsFile, JSON.stringify({ type: 'scenario', scenario: 'bind-static', status: 'passed', durationMs: 1 }) + '\\n');
`,
  );
  const r = await runScenarioProcess(s.base);
  t.same([r.end.exitCode, r.end.signal], [0, null]);
  t.match(r.output, /TAP version 14/);
  t.match(r.output, /a diagnostic/);
  t.equal(r.end.stderrTail.trim(), 'a diagnostic');
  t.match(r.resultsText, /"status":"passed"/);
  t.ok(r.durationMs > 0);
});

t.test('a timeout stops the process group: SIGTERM, then SIGKILL for what ignores it, grandchildren included', async (t) => {
  const s = await setup(
    t,
    'scale',
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
process.on('SIGTERM', () => console.error('ignoring SIGTERM'));
const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
writeFileSync(new URL('./grandchild.pid', import.meta.url), String(child.pid));
console.error('waiting for pod mysql-0');
setInterval(() => {}, 1000);
`,
  );
  const t0 = Date.now();
  const r = await runScenarioProcess({ ...s.base, timeoutMs: 3000, killGraceMs: 300 });
  t.equal(r.end.timedOutAfterMs, 3000);
  t.equal(r.end.signal, 'SIGKILL', 'it ignored SIGTERM, so SIGKILL ended it');
  t.match(r.end.stderrTail, /ignoring SIGTERM/);
  t.ok(Date.now() - t0 < 8000, 'did not wait for the grandchild');
  const grandchild = Number(await readFile(join(s.dir, 'scale', 'grandchild.pid'), 'utf8'));
  for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(alive(grandchild), 'the grandchild in its process group is gone');
  t.notOk(alive(r.pid!), 'the scenario process is gone');
});

t.test('a process that exits leaves nothing running in its group', async (t) => {
  const s = await setup(
    t,
    'network',
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
child.unref();
writeFileSync(new URL('./grandchild.pid', import.meta.url), String(child.pid));
process.exit(0);
`,
  );
  const r = await runScenarioProcess(s.base);
  t.equal(r.end.exitCode, 0);
  const grandchild = Number(await readFile(join(s.dir, 'network', 'grandchild.pid'), 'utf8'));
  for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(alive(grandchild), 'the background child it left was killed with its group');
});

t.test('an abort interrupts a running scenario; an aborted signal starts nothing; a missing file is reported', async (t) => {
  const s = await setup(t, 'reclaim', `setInterval(() => {}, 1000);\n`);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const r = await runScenarioProcess({ ...s.base, signal: ac.signal });
  t.equal(r.end.interrupted, true);
  t.equal(r.end.signal, 'SIGTERM');
  t.notOk(r.end.timedOutAfterMs);
  const again = await runScenarioProcess({ ...s.base, signal: ac.signal });
  t.same([again.end.interrupted, again.pid, again.output], [true, undefined, '']);
  const missing = await runScenarioProcess({ ...s.base, id: 'hygiene' });
  t.equal(missing.end.notFound, join(s.dir, 'hygiene', 'scenario.js'));
});

t.test('a command that cannot start is an error end with the reason', async (t) => {
  const s = await setup(t, 'delete-orphan', '');
  const r = await runScenarioProcess({ ...s.base, node: [join(s.dir, 'no-such-node')] });
  t.equal(r.end.exitCode, null);
  t.match(r.end.stderrTail, /cannot start .*no-such-node: spawn .*ENOENT/);
  t.equal(killGroup(2 ** 22 + 12345, 'SIGKILL'), false, 'signalling a group that is gone is harmless');
});
