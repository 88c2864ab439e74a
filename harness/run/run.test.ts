// The run loop end to end with fake clusters (StartedCluster objects made here) and fake scenarios (plain ESM
// scripts that append result lines), so every outcome, the teardown and the interruption paths run without root.
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { StartedCluster } from '../../clusters/provider.js';
import type { RunConfig, SuiteId } from '../plan/config.js';
import type { PlannedCluster } from '../plan/plan.js';
import { listFiles } from './artifacts.js';
import { createProgress, type ProgressEvent } from './progress.js';
import type { StartCluster } from './providers.js';
import { exitCodeFor, kubeconfigSecrets, readReport, runConformance, suiteContext, type RunOptions } from './run.js';

// Run records go to a private state dir, not /run/dkc/clusters.
const STATE = mkdtempSync(join(tmpdir(), 'dkc-run-test-state-'));
process.env.DKC_STATE_DIR = STATE;
t.teardown(() => rmSync(STATE, { recursive: true, force: true }));

const PASSWORD = 'Pl4nted-S3cret-xyz';
const TOKEN = 'tok-Pl4nted-0123456789';
const Ajv = createRequire(import.meta.url)('ajv');
const validateReport = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(new URL('../report/report.schema.json', import.meta.url), 'utf8')));

// One script for every suite: what it does comes from behaviour.json (`<suite>` or `<suite>@<k8sVersion>`), and it
// records the context it got in seen/<minor>-<suite>.json.
const FAKE_SCENARIO = `import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const here = dirname(fileURLToPath(import.meta.url));
const id = basename(here);
const root = dirname(here);
const ctx = JSON.parse(readFileSync(process.env.DKC_CONTEXT, 'utf8'));
const b = JSON.parse(readFileSync(join(root, 'behaviour.json'), 'utf8'));
const what = b[id + '@' + ctx.k8sVersion] ?? b[id] ?? 'pass';
mkdirSync(join(root, 'seen'), { recursive: true });
writeFileSync(join(root, 'seen', ctx.minor + '-' + id + '.json'), JSON.stringify({ ...ctx, contextFile: process.env.DKC_CONTEXT, owner: process.env.DKC_CLUSTER_OWNER }));
const line = (o) => appendFileSync(ctx.resultsFile, JSON.stringify({ scenario: id, durationMs: 1, ...o }) + '\\n');
console.log('TAP version 14');
switch (what) {
  case 'pass':
    line({ type: 'check', name: 'works', status: 'passed' });
    line({ type: 'scenario', status: 'passed' });
    console.log('ok 1 - works');
    break;
  case 'fail':
    line({ type: 'check', name: 'works', status: 'passed' });
    line({ type: 'check', name: 'size matches', status: 'failed', message: 'wanted 1Gi, got 2Gi', evidence: 'events: none' });
    line({ type: 'scenario', status: 'failed' });
    console.log('not ok 2 - size matches');
    process.exitCode = 1;
    break;
  case 'skip':
    line({ type: 'scenario', status: 'skipped', message: 'no node access on this cluster' });
    break;
  case 'crash':
    line({ type: 'check', name: 'works', status: 'passed' });
    console.error('TypeError: cannot read properties of undefined');
    process.exit(3);
  case 'hang':
    console.error('waiting for pod mysql-0');
    setInterval(() => {}, 1000);
    break;
  case 'slow':
    setTimeout(() => line({ type: 'scenario', status: 'passed' }), 20000);
    break;
  case 'leak':
    console.log('# logging in with ' + ctx.backend.password);
    writeFileSync(join(ctx.artifactsDir, 'leak.txt'), 'pw ' + ctx.backend.password + ' token ' + readFileSync(ctx.kubeconfig, 'utf8'));
    line({ type: 'check', name: 'leaky', status: 'failed', message: 'login with ' + ctx.backend.password + ' failed', evidence: 'serverPasswd: ' + ctx.backend.password });
    line({ type: 'scenario', status: 'failed', message: 'the password is ' + ctx.backend.password });
    process.exitCode = 1;
    break;
}
`;

interface Fake extends StartedCluster {
  stopped: boolean;
}

interface Env {
  dir: string;
  suitesDir: string;
  reportDir: string;
  kubeconfig: string;
  clusters: Fake[];
  /** The run records in the state dir when each cluster was started. */
  records: Record<string, any>[][];
  events: ProgressEvent[];
  output: () => string;
  options: (o?: Partial<RunOptions>) => RunOptions;
  config: (o: Partial<RunConfig>) => RunConfig;
  behave: (b: Record<string, string>) => Promise<void>;
  seen: (minor: number, suite: string) => Record<string, any>;
}

async function setup(t: Test, fake: { leftovers?: Record<string, string[]>; stopThrows?: string; collectThrows?: string; failStart?: Record<string, string>; delayMs?: number } = {}): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-run-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const suitesDir = join(dir, 'suites');
  for (const id of ['node-preflight', 'network', 'bind-static', 'bind-dynamic', 'statefulset-mysql', 'scale', 'reclaim', 'security-lint', 'hygiene']) {
    await mkdir(join(suitesDir, id), { recursive: true });
    await writeFile(join(suitesDir, id, 'scenario.js'), FAKE_SCENARIO);
  }
  await writeFile(join(suitesDir, 'package.json'), '{"type":"module"}');
  await writeFile(join(suitesDir, 'behaviour.json'), '{}');
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, `apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: ${TOKEN}}}]\n`);
  const clusters: Fake[] = [];
  const records: Record<string, any>[][] = [];
  const events: ProgressEvent[] = [];
  let out = '';
  const sink = { write: (s: string) => (out += s) };
  const plain = createProgress({ stream: sink, out: sink, live: false });
  const start: StartCluster = async (pc: PlannedCluster) => {
    records.push(readdirSync(STATE).map((f) => JSON.parse(readFileSync(join(STATE, f), 'utf8'))));
    await new Promise((r) => setTimeout(r, fake.delayMs ?? 10));
    const failure = fake.failStart?.[pc.version ?? 'existing'];
    if (failure) throw new Error(failure);
    const label = pc.label ?? 'v1.33.4';
    const c: Fake = {
      provider: pc.provider,
      version: label,
      kubeconfigPath: kubeconfig,
      backend: { kind: 'mock', server: `127.0.0.1:${7700 + clusters.length}`, url: 'http://127.0.0.1:7700', user: 'admin', password: PASSWORD, portals: ['127.0.0.2:3260'] },
      stopped: false,
      nodes: () => [
        { name: 'n1', address: '10.0.0.1', root: '/n1' },
        { name: 'n2', address: '10.0.0.2', root: '/n2' },
      ],
      nodeAccess: () => [{ name: 'n1', address: '10.0.0.1', exec: ['true'], kubeletRoot: '/k', pluginDir: '/p', iscsiRoot: '/i' }],
      nodeExec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
      collectArtifacts: async (d: string) => {
        if (fake.collectThrows) throw new Error(fake.collectThrows);
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'datera-requests.json'), JSON.stringify([{ path: '/login', body: { name: 'admin', password: PASSWORD } }]));
      },
      stop: async () => {
        c.stopped = true;
        if (fake.stopThrows) throw new Error(fake.stopThrows);
        return fake.leftovers?.[label] ?? [];
      },
    };
    clusters.push(c);
    return c;
  };
  const env: Env = {
    dir,
    suitesDir,
    reportDir: join(dir, 'report'),
    kubeconfig,
    clusters,
    records,
    events,
    output: () => out,
    options: (o = {}) => ({
      suitesDir,
      providers: { embedded: start, existing: start },
      progress: { event: (e) => (events.push(e), plain.event(e)), finish: (i) => plain.finish(i) },
      suiteTimeoutMs: 20_000,
      killGraceMs: 300,
      kubectl: async (minor) => (minor === 32 ? '/fake/kubectl-v1.32' : undefined),
      env: { ...process.env, DKC_TIMEOUT_SCALE: '2' },
      ...o,
    }),
    config: (o) => ({ cluster: 'embedded', versions: ['v1.32'], suites: ['bind-static'], driver: { kind: 'path', path: '/drivers/iscsi', reference: false }, backend: { kind: 'mock' }, reportDir: join(dir, 'report'), parallel: 1, readOnly: false, kindOverrides: {}, ...o }),
    behave: (b) => writeFile(join(suitesDir, 'behaviour.json'), JSON.stringify(b)),
    seen: (minor, suite) => JSON.parse(readFileSync(join(suitesDir, 'seen', `${minor}-${suite}.json`), 'utf8')),
  };
  return env;
}

/** Every file the run wrote into the report dir, and the progress output, are free of the planted secrets. */
async function assertNoSecrets(t: Test, e: Env) {
  const files = await listFiles(e.reportDir);
  t.ok(files.length >= 5, `${files.length} files in the report dir`);
  for (const f of files) {
    const text = await readFile(f, 'latin1');
    t.notOk(text.includes(PASSWORD) || text.includes(TOKEN), `no secret in ${relative(e.reportDir, f)}`);
  }
  t.notOk(e.output().includes(PASSWORD), 'no secret in the progress output');
}

const statuses = (r: { results: { id: string; k8sVersion: string; status: string }[] }) => r.results.map((x) => `${x.k8sVersion} ${x.id} ${x.status}`);

t.test('outcomes map to passed, failed, error and skipped; reports are written and valid; artifacts are kept', async (t) => {
  const e = await setup(t);
  await e.behave({ 'node-preflight@v1.32.9 (emulated)': 'crash', 'bind-static': 'pass', 'bind-dynamic': 'fail', 'security-lint': 'skip' });
  const suites: SuiteId[] = ['node-preflight', 'bind-static', 'bind-dynamic', 'security-lint'];
  const report = await runConformance(e.config({ versions: ['v1.32', 'v1.35'], suites }), e.options());
  t.same(statuses(report), [
    'v1.32.9 (emulated) node-preflight error',
    'v1.32.9 (emulated) bind-static passed',
    'v1.32.9 (emulated) bind-dynamic failed',
    'v1.32.9 (emulated) security-lint skipped',
    'v1.35.0 (emulated) node-preflight passed',
    'v1.35.0 (emulated) bind-static passed',
    'v1.35.0 (emulated) bind-dynamic failed',
    'v1.35.0 (emulated) security-lint skipped',
  ]);
  const at = (v: string, id: string) => report.results.find((r) => r.k8sVersion.startsWith(v) && r.id === id)!;
  t.match(at('v1.32', 'node-preflight').message, /exited 3 without reporting a result; stderr ends:\nTypeError: cannot read properties of undefined/, 'a crashed preflight is an error quoting stderr');
  t.same(at('v1.32', 'node-preflight').checks, [{ name: 'works', status: 'passed' }]);
  t.same(at('v1.32', 'bind-dynamic').checks[1], { name: 'size matches', status: 'failed', message: 'wanted 1Gi, got 2Gi', evidence: 'events: none' });
  t.equal(at('v1.32', 'security-lint').message, 'no node access on this cluster');
  t.equal(at('v1.32', 'security-lint').required, false, 'required comes from SUITES');
  t.equal(at('v1.32', 'bind-static').title, "Static binding: the Datera guide's PV and selector, pre-bound pairs, mismatches stay Pending");
  t.same(report.summary, { passed: 3, failed: 2, error: 1, skipped: 2, missing: 0, total: 8 });
  t.equal(exitCodeFor(report, false), 1);
  t.ok(e.clusters.every((c) => c.stopped) && e.clusters.length === 2, 'both clusters stopped');

  // Reports.
  const json = await readReport(e.reportDir);
  t.ok(validateReport(json), JSON.stringify(validateReport.errors));
  t.same(json.summary, report.summary);
  for (const f of ['report.json', 'junit.xml', 'report.md', 'report.html']) t.ok(existsSync(join(e.reportDir, f)), f);
  t.same(json.environment.clusters, [
    { k8sVersion: 'v1.32.9 (emulated)', emulated: true, nodes: 2 },
    { k8sVersion: 'v1.35.0 (emulated)', emulated: true, nodes: 2 },
  ]);
  t.same(json.environment.driver, { path: '/drivers/iscsi' });
  t.same(json.environment.backend, { kind: 'mock', server: '127.0.0.1:7700, 127.0.0.1:7701' });
  t.equal(json.environment.provider, 'embedded');
  t.equal(json.tool.name, 'dkc');

  // Artifacts: the TAP output per suite, the cluster's files on what did not pass; the run log.
  const bs = at('v1.32', 'bind-static');
  t.same(bs.artifacts, [{ name: 'bind-static.tap.txt', path: 'artifacts/v1.32.9-emulated/bind-static.tap.txt' }], 'a passed result has its TAP only');
  t.match(readFileSync(join(e.reportDir, bs.artifacts[0]!.path), 'utf8'), /ok 1 - works/);
  t.same(
    at('v1.32', 'bind-dynamic').artifacts.map((a) => a.path),
    ['artifacts/v1.32.9-emulated/bind-dynamic.tap.txt', 'artifacts/v1.32.9-emulated/cluster/datera-requests.json'],
  );
  t.match(readFileSync(join(e.reportDir, 'artifacts/v1.32.9-emulated/cluster/datera-requests.json'), 'utf8'), /"password":"\*\*\*"/, 'the secret in a cluster artifact is masked');
  t.ok(existsSync(join(e.reportDir, 'artifacts/run.log.jsonl')), 'the structured run log');
  t.match(readFileSync(join(e.reportDir, 'artifacts/run.log.jsonl'), 'utf8'), /"msg":"suite finished".*"status":"failed"/);

  // Progress lines.
  t.match(e.output(), /^\[v1\.32\.9 \(emulated\)\] bind-static passed \(\d+ ms|\d+\.\d s\)$/m);
  t.match(e.output(), /^\[v1\.32\.9 \(emulated\)\] bind-dynamic failed \([^)]+\): size matches: wanted 1Gi, got 2Gi$/m);
  t.match(e.output(), /^\[v1\.32\.9 \(emulated\)\] node-preflight error \([^)]+\): the scenario process exited 3/m);
  t.match(e.output(), /^\[v1\.35\.0 \(emulated\)\] security-lint skipped: no node access on this cluster$/m);
  t.match(e.output(), /^3 passed, 2 failed, 1 error, 2 skipped, 0 missing\nverdict: NOT QUALIFIED\n {2}json {5}.*report\.json\n/m);

  // The context each scenario got.
  const ctx = e.seen(32, 'bind-static');
  t.equal(ctx.schema, 'dkc.suite-context/v1');
  t.same([ctx.kubeconfig, ctx.provider, ctx.k8sVersion, ctx.minor, ctx.driver], [e.kubeconfig, 'embedded', 'v1.32.9 (emulated)', 32, 'datera/iscsi']);
  t.same(ctx.backend, { kind: 'mock', url: 'http://127.0.0.1:7700', server: '127.0.0.1:7700', user: 'admin', password: PASSWORD, portals: ['127.0.0.2:3260'] }, 'scenarios get the password');
  t.same(ctx.nodes.map((n: any) => n.name), ['n1']);
  t.equal(ctx.provisioner, 'datera.io/provisioner-datera');
  t.same(ctx.secret, { name: 'datera-secret', namespace: 'datera' });
  t.equal(ctx.readOnly, false);
  t.equal(ctx.kubectl, '/fake/kubectl-v1.32');
  t.equal(ctx.timeoutScale, 2, 'DKC_TIMEOUT_SCALE reaches the scenarios');
  t.notOk('kubectl' in e.seen(35, 'bind-static'), 'no kubectl for a minor without one');
  t.equal(ctx.artifactsDir, join(e.reportDir, 'artifacts/v1.32.9-emulated/bind-static'));
  t.not(ctx.resultsFile, e.seen(32, 'bind-dynamic').resultsFile, 'a fresh results file per suite');
  t.notOk(ctx.contextFile.startsWith(e.reportDir), 'the context (it has the password) is not in the report dir');
  t.notOk(existsSync(ctx.contextFile), 'and it is removed');
  // The run is recorded for dkc cluster down while it runs (its private dir, its pid, the owner mark its scenarios
  // carry), and forgotten at the end with that dir.
  const run = e.records[0]!.find((r) => ctx.contextFile.startsWith(`${r.workDir}/`));
  t.ok(run, 'the run record names the private dir of the contexts');
  t.match(run, { name: /^run-r[0-9a-f]{8}$/, id: /^r[0-9a-f]{8}$/, pid: process.pid, owner: process.env.DKC_CLUSTER_OWNER });
  t.equal(ctx.owner, process.env.DKC_CLUSTER_OWNER, 'scenarios carry the owner mark');
  t.same(readdirSync(STATE), [], 'record removed');
  t.notOk(existsSync(run!.workDir), 'private dir removed');
  await assertNoSecrets(t, e);
});

t.test('a scenario past its timeout is stopped and is an error', async (t) => {
  const e = await setup(t);
  await e.behave({ reclaim: 'hang' });
  // The hang decides the timeout; one that a loaded machine's Node.js start-up could hit would make this flaky.
  const report = await runConformance(e.config({ suites: ['reclaim'] }), e.options({ suiteTimeoutMs: 2000 }));
  t.same(statuses(report), ['v1.32.9 (emulated) reclaim error']);
  t.ok(e.clusters[0]!.stopped);
  t.match(report.results[0]!.message, /^timed out after 2 s and was stopped \(SIGTERM, then SIGKILL to its process group\)/);
});

t.test('the password planted in output, messages, evidence, artifacts and the kubeconfig token reach no report file or progress line', async (t) => {
  const e = await setup(t);
  await e.behave({ 'bind-static': 'leak' });
  const report = await runConformance(e.config({}), e.options());
  const r = report.results[0]!;
  t.equal(r.status, 'failed');
  t.ok(r.message?.includes(PASSWORD), 'the in-memory model has it (the writers redact)');
  t.same(r.artifacts.map((a) => a.name), ['bind-static.tap.txt', 'leak.txt', 'cluster/datera-requests.json']);
  t.match(readFileSync(join(e.reportDir, 'artifacts/v1.32.9-emulated/bind-static/leak.txt'), 'utf8'), /^pw \*\*\* token /);
  t.match(readFileSync(join(e.reportDir, 'artifacts/v1.32.9-emulated/bind-static.tap.txt'), 'utf8'), /# logging in with \*\*\*/);
  t.match(e.output(), /bind-static failed \([^)]+\): leaky: login with \*\*\* failed/);
  await assertNoSecrets(t, e);
});

t.test('leftovers from stop() and a stop that throws become a required teardown error', async (t) => {
  const e = await setup(t, { leftovers: { 'v1.35.0 (emulated)': ['mount /var/lib/kubelet/x', 'network namespace dkc-e1-w1'] } });
  const report = await runConformance(e.config({ versions: ['v1.32', 'v1.35'] }), e.options());
  t.same(statuses(report), ['v1.32.9 (emulated) bind-static passed', 'v1.35.0 (emulated) bind-static passed', 'v1.35.0 (emulated) teardown error']);
  const td = report.results[2]!;
  t.equal(td.required, true);
  t.equal(td.message, 'removing the cluster left 2 things behind: mount /var/lib/kubelet/x; network namespace dkc-e1-w1');
  t.same(td.checks.map((c) => c.message), ['mount /var/lib/kubelet/x', 'network namespace dkc-e1-w1']);
  t.same(td.artifacts.map((a) => a.name), ['cluster/datera-requests.json']);
  t.equal(exitCodeFor(report, false), 1, 'a leak fails the run although every suite passed');
  t.match(e.output(), /\[v1\.35\.0 \(emulated\)\] teardown left: mount \/var\/lib\/kubelet\/x; network namespace dkc-e1-w1/);
  t.ok(validateReport(await readReport(e.reportDir)), JSON.stringify(validateReport.errors));

  const e2 = await setup(t, { stopThrows: 'tgtd would not die', collectThrows: 'ENOSPC' });
  const r2 = await runConformance(e2.config({}), e2.options());
  t.same(statuses(r2), ['v1.32.9 (emulated) bind-static passed', 'v1.32.9 (emulated) teardown error']);
  t.equal(r2.results[1]!.message, 'removing the cluster left 1 thing behind: stop failed: tgtd would not die');
  t.same(r2.results[1]!.artifacts, [], 'no cluster artifacts: collecting them failed');
  t.match(e2.output(), /^\[v1\.32\.9 \(emulated\)\] collecting artifacts failed: ENOSPC$/m, 'a failed collection is said, not fatal');
});

t.test('a cluster that fails to start: every suite of it is an error with the start error; the others run', async (t) => {
  const e = await setup(t, { failStart: { 'v1.27': 'MISSING_TOOL: tgtd is not installed' } });
  const report = await runConformance(e.config({ versions: ['v1.27', 'v1.32'], suites: ['node-preflight', 'bind-static'] }), e.options());
  t.same(statuses(report), ['v1.27.16 (emulated) node-preflight error', 'v1.27.16 (emulated) bind-static error', 'v1.32.9 (emulated) node-preflight passed', 'v1.32.9 (emulated) bind-static passed']);
  t.equal(report.results[0]!.message, 'the embedded cluster did not start: MISSING_TOOL: tgtd is not installed');
  t.equal(report.results[1]!.required, true);
  t.match(e.output(), /\[v1\.27\.16 \(emulated\)\] cluster failed to start: the embedded cluster did not start: MISSING_TOOL/);
  t.equal(exitCodeFor(report, false), 1);
  t.equal(e.clusters.length, 1);
  t.ok(e.clusters[0]!.stopped);
});

t.test('an abort mid-run stops the scenario and every started cluster, and writes a partial report with missing pairs', async (t) => {
  const e = await setup(t);
  await e.behave({ scale: 'slow' });
  const ac = new AbortController();
  const base = e.options();
  const opts = e.options({
    signal: ac.signal,
    progress: {
      event: (ev) => {
        base.progress!.event(ev);
        if (ev.type === 'suite-started' && ev.suite === 'scale') setTimeout(() => ac.abort(), 200);
      },
      finish: (i) => base.progress!.finish(i),
    },
  });
  const t0 = Date.now();
  const report = await runConformance(e.config({ versions: ['v1.32', 'v1.35'], suites: ['bind-static', 'scale', 'reclaim'] }), opts);
  t.ok(Date.now() - t0 < 15_000, 'did not wait for the slow scenario');
  t.same(statuses(report), [
    'v1.32.9 (emulated) bind-static passed',
    'v1.32.9 (emulated) scale missing',
    'v1.32.9 (emulated) reclaim missing',
    'v1.35.0 (emulated) bind-static missing',
    'v1.35.0 (emulated) scale missing',
    'v1.35.0 (emulated) reclaim missing',
  ]);
  t.equal(report.results[1]!.message, 'not finished: the run was interrupted while it ran');
  t.equal(report.results[3]!.message, 'not run: the run was interrupted before it got here');
  t.equal(e.clusters.length, 1, 'the second cluster was never started');
  t.ok(e.clusters[0]!.stopped, 'the started cluster was stopped');
  t.equal(exitCodeFor(report, true), 130);
  const json = await readReport(e.reportDir);
  t.equal(json.summary.missing, 5);
  t.ok(validateReport(json), JSON.stringify(validateReport.errors));
  t.match(e.output(), /1 passed, 0 failed, 0 error, 0 skipped, 5 missing\ninterrupted: the report lists what did not run as missing/);

  // Aborted before anything started: nothing is started, everything is missing, the report is still written.
  const e2 = await setup(t);
  const done = new AbortController();
  done.abort();
  const r2 = await runConformance(e2.config({ versions: ['v1.32'] }), e2.options({ signal: done.signal }));
  t.same(statuses(r2), ['v1.32.9 (emulated) bind-static missing']);
  t.equal(e2.clusters.length, 0);
  t.ok(existsSync(join(e2.reportDir, 'report.html')));
});

t.test('Ctrl-C while a kind cluster starts: the provider gets the signal, its start rejects, nothing runs, the run is interrupted (130)', async (t) => {
  const e = await setup(t);
  const ac = new AbortController();
  const starts: { version: string | null; signal?: AbortSignal }[] = [];
  let undone = 0;
  // Like startKindCluster: creating takes until the abort, which undoes what was made and rejects.
  const kind: StartCluster = async (pc, _config, ctx) => {
    starts.push({ version: pc.version, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    await new Promise((resolve) => ctx.signal!.addEventListener('abort', resolve, { once: true }));
    undone++;
    throw new DOMException('This operation was aborted', 'AbortError');
  };
  const base = e.options();
  const opts = e.options({
    signal: ac.signal,
    providers: { kind },
    progress: {
      event: (ev) => {
        base.progress!.event(ev);
        if (ev.type === 'cluster-starting') setTimeout(() => ac.abort(), 100);
      },
      finish: (i) => base.progress!.finish(i),
    },
  });
  const report = await runConformance(e.config({ cluster: 'kind', versions: ['v1.32', 'v1.33'], suites: ['bind-static', 'scale'] }), opts);
  t.equal(starts.length, 1, 'the second cluster was never started');
  t.equal(starts[0]!.signal, ac.signal, "the provider got the run's signal");
  t.equal(undone, 1);
  t.same(statuses(report), ['v1.32.11 bind-static missing', 'v1.32.11 scale missing', 'v1.33.12 bind-static missing', 'v1.33.12 scale missing']);
  t.equal(report.results[0]!.message, 'not run: the run was interrupted while the kind cluster was starting (This operation was aborted)');
  t.equal(report.results[2]!.message, 'not run: the run was interrupted before it got here');
  t.notOk(report.results.some((r) => r.id === 'teardown'), 'no teardown result: nothing was started');
  t.equal(exitCodeFor(report, ac.signal.aborted), 130);
  t.match(e.output(), /^\[v1\.32\.11\] cluster failed to start: interrupted while starting: This operation was aborted$/m);
  t.match(e.output(), /0 passed, 0 failed, 0 error, 0 skipped, 4 missing\ninterrupted/);
  const json = await readReport(e.reportDir);
  t.ok(validateReport(json), JSON.stringify(validateReport.errors));
  t.same(json.environment.clusters.map((c) => c.kindRelease), ['v0.31.0', 'v0.32.0'], 'the report still names the planned kind clusters');
  t.same(readdirSync(STATE), [], 'the run record is gone');
});

t.test('a memory budget warning of the plan reaches the progress output and the run log', async (t) => {
  const e = await setup(t);
  const warning = 'one kind cluster needs about 4608 MiB (3 nodes x 1536 MiB) but the budget is 3000 MiB; running one at a time anyway';
  const fakeKind = e.options().providers!.embedded!;
  const report = await runConformance(e.config({ cluster: 'kind', versions: ['v1.32'], parallelFrom: { memoryBudgetMiB: 3000, perClusterMiB: 4608, warning } }), e.options({ providers: { kind: fakeKind } }));
  t.same(statuses(report), ['v1.32.11 bind-static passed']);
  t.match(e.output(), new RegExp(`^warning: ${warning.replace(/[()]/g, '\\$&')}$`, 'm'));
  t.ok(e.output().indexOf('warning:') < e.output().indexOf('starting the kind cluster'), 'before the first cluster starts');
  const runLog = readFileSync(join(e.reportDir, 'artifacts/run.log.jsonl'), 'utf8');
  t.match(runLog, /"level":"warn","time":"[^"]+","msg":"memory budget","warning":"one kind cluster needs/);
  t.match(runLog, /"msg":"run started".*"parallelFrom":\{"memoryBudgetMiB":3000,"perClusterMiB":4608/);

  const e2 = await setup(t);
  await runConformance(e2.config({}), e2.options());
  t.notMatch(e2.output(), /warning:/, 'no warning without one');
});

t.test('at most `parallel` clusters are up at once, and all of them are used', async (t) => {
  const e = await setup(t, { delayMs: 100 });
  let up = 0;
  let most = 0;
  const inner = e.options().providers!.embedded!;
  const counting: StartCluster = async (pc, config, ctx) => {
    up++;
    most = Math.max(most, up);
    const c = await inner(pc, config, ctx);
    const stop = c.stop.bind(c);
    return { ...c, stop: async () => (up--, stop()) } as StartedCluster;
  };
  const report = await runConformance(e.config({ versions: ['v1.20', 'v1.32', 'v1.35'], parallel: 2 }), e.options({ providers: { embedded: counting } }));
  t.equal(report.results.length, 3);
  t.ok(report.results.every((r) => r.status === 'passed'));
  t.equal(most, 2, 'two clusters at once, never three');
  t.equal(up, 0, 'every cluster stopped');
  t.same(
    report.environment.clusters.map((c) => c.k8sVersion),
    ['v1.20.15 (emulated)', 'v1.32.9 (emulated)', 'v1.35.0 (emulated)'],
    'reported in plan order whatever order they finished in',
  );
  t.equal(exitCodeFor(report, false), 0);
  t.match(e.output(), /3 passed, 0 failed, 0 error, 0 skipped, 0 missing\nverdict: QUALIFIED/);
});

t.test('existing: the label is the server version; a real backend needs credentials, checked before anything starts', async (t) => {
  const e = await setup(t);
  const config = e.config({ cluster: 'existing', versions: [], kubeconfig: e.kubeconfig, backend: { kind: 'datera', url: 'https://dsp.example:7718' } });
  let started = 0;
  const inner = e.options().providers!.existing!;
  const counting: StartCluster = async (...a) => (started++, inner(...a));
  await t.rejects(runConformance(config, e.options({ env: {}, providers: { existing: counting } })), { code: 'BAD_CONFIG', message: /needs credentials: set DATERA_USER and DATERA_PASSWORD/ });
  t.equal(started, 0, 'no cluster was started');
  t.notOk(existsSync(e.reportDir), 'nothing was written');

  const report = await runConformance(config, e.options({ env: { DATERA_USER: 'admin', DATERA_PASSWORD: PASSWORD }, providers: { existing: counting } }));
  t.same(statuses(report), ['v1.33.4 bind-static passed']);
  t.same(report.environment.backend, { kind: 'datera', server: 'dsp.example:7718' });
  t.same(report.environment.clusters, [{ k8sVersion: 'v1.33.4', emulated: false, nodes: 2 }]);
  t.equal(e.seen(33, 'bind-static').minor, 33, 'the minor comes from the server version');
  await assertNoSecrets(t, e);
  t.equal(e.seen(33, 'bind-static').readOnly, false);
  t.notOk('readOnly' in report.environment, 'a normal run says nothing about read-only');

  // Read-only: the scenarios are told so, the report says so and validates, and the end line is no verdict.
  const ro = await runConformance({ ...config, readOnly: true }, e.options({ env: { DATERA_USER: 'admin', DATERA_PASSWORD: PASSWORD }, providers: { existing: counting } }));
  t.equal(e.seen(33, 'bind-static').readOnly, true, 'the scenario context is read-only');
  t.equal(ro.environment.readOnly, true);
  t.ok(validateReport(await readReport(e.reportDir)), JSON.stringify(validateReport.errors));
  t.equal(exitCodeFor(ro, false), 0, 'nothing that ran failed');
  t.match(e.output(), /^read-only run: no problem found by the non-destructive checks \(scenarios that create or delete storage were skipped; not a qualification\)$/m);
  t.match(readFileSync(join(e.reportDir, 'report.md'), 'utf8'), /^# Datera FlexVolume conformance: READ-ONLY CHECK, no problem found\n\n> Read-only run: /m);
  t.match(readFileSync(join(e.reportDir, 'report.html'), 'utf8'), /<header class="verdict partial">.*\n<div class="badge">READ-ONLY: NO PROBLEM FOUND<\/div>/);

  // Not reached: the placeholder label still reads as a version (the schema wants one).
  const e2 = await setup(t, { failStart: { existing: 'connect ECONNREFUSED 10.0.0.1:6443' } });
  const r2 = await runConformance(e2.config({ cluster: 'existing', versions: [], kubeconfig: e2.kubeconfig }), e2.options());
  t.same(statuses(r2), ['v0.0 (existing cluster, not reached) bind-static error']);
  t.ok(validateReport(await readReport(e2.reportDir)), JSON.stringify(validateReport.errors));
});

t.test('a suite that is not built is an error naming the file; the other suites run', async (t) => {
  const e = await setup(t);
  const report = await runConformance(e.config({ suites: ['delete-cascade', 'bind-static'] }), e.options());
  t.same(statuses(report), ['v1.32.9 (emulated) bind-static passed', 'v1.32.9 (emulated) delete-cascade error'], 'in run order');
  t.match(report.results[1]!.message, /no scenario to run: .*delete-cascade\/scenario\.js does not exist/);
  t.same(report.results[1]!.artifacts.map((a) => a.name), ['cluster/datera-requests.json'], 'no TAP file for a suite that never ran');
});

t.test('helpers: exit codes, kubeconfig secrets, the suite context of a cluster without a backend', async (t) => {
  t.equal(exitCodeFor({ results: [] }, false), 1, 'an empty run proves nothing');
  t.equal(exitCodeFor({ results: [{ status: 'passed', required: true } as any] }, false), 0);
  t.equal(exitCodeFor({ results: [{ status: 'passed', required: true } as any] }, true), 130);
  t.equal(exitCodeFor({ results: [{ status: 'passed', required: true } as any, { status: 'failed', required: false } as any] }, false), 0, 'an optional failure does not fail the run');
  const ro = (...st: string[]) => ({ environment: { readOnly: true }, results: st.map((status) => ({ status, required: true }) as any) });
  t.equal(exitCodeFor(ro('passed', 'skipped'), false), 0, 'read-only: the skipped writing scenarios do not fail it');
  t.equal(exitCodeFor(ro('passed', 'failed'), false), 1, 'read-only: a failed check fails it');
  t.equal(exitCodeFor(ro('passed', 'missing'), false), 1, 'read-only: what did not run is no pass');
  t.equal(exitCodeFor(ro('skipped'), false), 1, 'read-only: nothing ran, nothing proven');
  t.equal(exitCodeFor({ results: ro('passed', 'skipped').results }, false), 1, 'not read-only: a skipped required scenario is no qualification');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-run-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'kc'), 'users:\n- name: a\n  user: {token: t1, client-key-data: k1}\n- name: b\n  user: {username: u, password: p1}\n');
  t.same(kubeconfigSecrets(join(dir, 'kc')), ['t1', 'k1', 'p1']);
  await writeFile(join(dir, 'bad'), ': : [');
  t.same(kubeconfigSecrets(join(dir, 'bad')), []);
  t.same(kubeconfigSecrets(join(dir, 'none')), []);
  t.same(kubeconfigSecrets(undefined), []);
  const ctx = suiteContext(
    { provider: 'existing', version: 'v1.30.1', kubeconfigPath: '/kc', backend: undefined, nodes: () => [], nodeAccess: () => [], nodeExec: async () => ({ exitCode: 0, stdout: '', stderr: '' }), collectArtifacts: async () => undefined, stop: async () => [] },
    { k8sVersion: 'v1.30.1', minor: 30, resultsFile: '/r', artifactsDir: '/a', timeoutScale: 1 },
  );
  t.notOk('backend' in ctx || 'provisioner' in ctx || 'secret' in ctx || 'kubectl' in ctx, 'no backend, provisioner, secret or kubectl');
  t.same(ctx.nodes, []);
  t.same(await readdir(dir), ['bad', 'kc']);
});
