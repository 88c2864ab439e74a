import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { main, port, positiveNumber, type CliDeps } from './cli.js';

const capture = async (argv: string[], deps: CliDeps = {}) => {
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (errs.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'dkc', ...argv], deps), err: errs.join('') };
  } finally {
    process.stderr.write = orig;
  }
};

t.test('option parsers name what is wrong', async (t) => {
  t.equal(port('7717'), 7717);
  t.equal(port('0'), 0);
  t.throws(() => port('http'), { message: /'http' is not a port number/ });
  t.throws(() => port('70000'), { message: /not a port number/ });
  t.equal(positiveNumber('2.5'), 2.5);
  t.throws(() => positiveNumber('-1'), { message: /not a positive number/ });
});

t.test('bad flags exit 2 with a message naming the flag', async (t) => {
  const a = await capture(['mock-datera', '--port', 'abc']);
  t.equal(a.code, 2);
  t.match(a.err, /--port.*'abc' is not a port number/);
  const b = await capture(['mock-datera', '--targets', 'cloud']);
  t.equal(b.code, 2);
  t.match(b.err, /--targets.*cloud.*process, container, none/s);
  const c = await capture(['no-such-command']);
  t.equal(c.code, 2);
  t.match(c.err, /unknown command 'no-such-command'/);
  const d = await capture(['mock-datera', '--session-idle', 'zero']);
  t.equal(d.code, 2);
});

t.test('a port in use is a clear error, exit 2', async (t) => {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const busy = (srv.address() as { port: number }).port;
  const r = await capture(['mock-datera', '--targets', 'none', '--port', String(busy), '--no-tls']);
  t.equal(r.code, 2);
  t.match(r.err, new RegExp(`ERROR: port ${busy} on 127.0.0.1 is in use`));
});

t.test('dkc mock-datera runs in the foreground, prints URLs and credentials, and cleans up on SIGINT', { skip: existsSync('dist/harness/cli.js') ? false : 'dist/ not built (npm run build)' }, async (t) => {
  const child = spawn(process.execPath, ['bin/dkc.js', 'mock-datera', '--targets', 'none', '--port', '0', '--tls-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c));
  const ready = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('ready;')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  t.ok(ready, `printed ready (stderr: ${err})`);
  const url = /http:\s+(http:\/\/[\d.]+:\d+)\/v2\.2/.exec(out)?.[1];
  t.ok(url, 'printed the HTTP URL');
  t.match(out, /https:\s+https:\/\/127\.0\.0\.1:\d+\/v2\.2 \(self-signed\)/);
  t.match(out, /user:\s+admin\n\s+password:\s+\S{8,}/);
  const info = (await (await fetch(`${url}/__mock/info`)).json()) as { targets: string };
  t.equal(info.targets, 'none');
  const stateDir = /state:\s+(\S+)/.exec(out)?.[1];
  t.ok(stateDir && existsSync(stateDir), 'state dir exists while running');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  t.equal(code, 0);
  t.match(err, /clean: everything this command made is gone/);
  t.notOk(stateDir && existsSync(stateDir), 'temporary state dir removed');
});

t.test('cluster up/down: bad input is refused before anything is made; down with nothing recorded is a no-op', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-cli-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  process.env.DKC_STATE_DIR = dir;
  t.teardown(() => delete process.env.DKC_STATE_DIR);
  const a = await capture(['cluster', 'up', '--provider', 'kind']);
  t.equal(a.code, 2);
  t.match(a.err, /only the embedded provider/);
  const b = await capture(['cluster', 'up', '--k8s', '1.99']);
  t.equal(b.code, 2);
  t.match(b.err, /no embedded profile for Kubernetes '1\.99'; known: v1\.6/);
  const c = await capture(['cluster', 'up', '--nodes', '12']);
  t.equal(c.code, 2);
  t.match(c.err, /--nodes 12: give 1 to 8 nodes/);
  const d = await capture(['cluster', 'up', '--backend', 'not a url']);
  t.equal(d.code, 2);
  t.match(d.err, /--backend 'not a url' is neither 'mock' nor a Datera API address/);
  const e = await capture(['cluster', 'up', '--driver', join(dir, 'missing')]);
  t.equal(e.code, 2);
  t.match(e.err, /--driver .*no such file/);
  // A fake kind sweep: the real one would remove this machine's dkc kind clusters.
  const sweeps: unknown[] = [];
  const clusterDown = { docker: async () => ({ docker: '/fake/docker' }), sweepKind: async (o: unknown) => (sweeps.push(o), { clusters: [], images: [], containers: [], networks: [], left: [] }), say: () => undefined };
  const f = await capture(['cluster', 'down', '--name', 'nothing-here'], { clusterDown });
  t.equal(f.code, 0);
  t.match(f.err, /no cluster named nothing-here is recorded/);
  t.same(sweeps, [], 'no kind sweep without --all');
  const g = await capture(['cluster', 'down', '--all'], { clusterDown });
  t.equal(g.code, 0);
  t.same(sweeps, [{ tools: { docker: '/fake/docker' } }], '--all sweeps every dkc kind cluster');
});

t.test('cluster down --all: the dkc kind clusters a killed run left, and recorded kind work dirs by their record', async (t) => {
  const { mkdir, mkdtemp, readFile, readdir, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-cli-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  process.env.DKC_STATE_DIR = join(dir, 'state');
  t.teardown(() => delete process.env.DKC_STATE_DIR);
  await mkdir(join(dir, 'state'));
  // What the kind provider records before making a kind cluster (pid 0: kept after its run ended, with leftovers).
  const workDir = join(dir, 'dkc-kind-test');
  await mkdir(workDir);
  await writeFile(join(workDir, 'kind-cluster.json'), JSON.stringify({ id: 'k0a1b2c3d', tgtInstance: 'cafe' }));
  const record = { name: 'dkc-k0a1b2c3d', pid: 0, id: 'k0a1b2c3d', workDir, kubeconfig: join(workDir, 'kubeconfig') };
  await writeFile(join(dir, 'state', 'dkc-k0a1b2c3d.json'), JSON.stringify(record));
  const empty = { clusters: [] as string[], images: [] as string[], containers: [] as string[], networks: [] as string[], left: [] as string[] };
  const sweeps: any[] = [];
  const lines: string[] = [];
  let results: (typeof empty)[] = [];
  const clusterDown = {
    docker: async () => ({ docker: '/fake/docker' }),
    sweepKind: async (o: any) => (sweeps.push(o), results.shift() ?? empty),
    say: (l: string) => void lines.push(l),
  };

  // The recorded cluster's tgt network is still in use, and one cluster of a killed run will not go.
  results = [
    { ...empty, clusters: ['dkc-k0a1b2c3d'], containers: ['dkc-tgt-cafe'], left: ['remove network dkc-tgt-cafe-1: in use'] },
    { ...empty, clusters: ['dkc-k9f9f9f9f'], images: ['dkc/provisioner:k9f9f9f9f'], left: ['kind delete cluster dkc-k7e7e7e7e: exit 1'] },
  ];
  const a = await capture(['cluster', 'down', '--all'], { clusterDown });
  t.equal(a.code, 1, 'leftovers make the exit code nonzero');
  t.same(sweeps, [{ id: 'k0a1b2c3d', workDir, tools: { docker: '/fake/docker' } }, { tools: { docker: '/fake/docker' } }], 'the record first, by id and work dir; then every dkc kind cluster');
  t.match(a.err, /cluster dkc-k0a1b2c3d: could not remove remove network dkc-tgt-cafe-1: in use/);
  t.same(lines, [
    'cluster dkc-k0a1b2c3d: removed kind cluster dkc-k0a1b2c3d; container dkc-tgt-cafe',
    'dkc kind clusters swept: removed kind cluster dkc-k9f9f9f9f; image dkc/provisioner:k9f9f9f9f',
    'dkc kind clusters: could not remove kind delete cluster dkc-k7e7e7e7e: exit 1',
  ]);
  t.same(await readdir(workDir), ['kind-cluster.json'], 'the work dir and its record stay for the next sweep');
  t.same(JSON.parse(await readFile(join(dir, 'state', 'dkc-k0a1b2c3d.json'), 'utf8')), record, 'and so does the state record');

  // The next time everything goes.
  sweeps.length = 0;
  lines.length = 0;
  const b = await capture(['cluster', 'down', '--all'], { clusterDown });
  t.equal(b.code, 0, b.err);
  t.equal(sweeps.length, 2);
  t.match(b.err, /cluster dkc-k0a1b2c3d is down; nothing of it is left/);
  t.same(await readdir(join(dir, 'state')), [], 'state record removed');
  t.same(await readdir(dir), ['state'], 'work dir removed');

  // Without Docker: nothing to sweep, exit 0; --verbose says so.
  const noDocker = { ...clusterDown, docker: async () => ({ skip: 'no docker CLI on PATH (nor $DKC_DOCKER)', absent: true }) };
  sweeps.length = 0;
  lines.length = 0;
  t.equal((await capture(['cluster', 'down', '--all'], { clusterDown: noDocker })).code, 0);
  t.equal((await capture(['cluster', 'down', '--all', '--verbose'], { clusterDown: noDocker })).code, 0);
  t.same(sweeps, []);
  t.same(lines, ['dkc kind clusters not swept: no docker CLI on PATH (nor $DKC_DOCKER)'], 'one note, with --verbose only');
});

/** Like capture, with stdout too: --plan prints the plan there. */
const captureAll = async (argv: string[], deps: CliDeps = {}) => {
  const outs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void outs.push(a.join(' '));
  try {
    const r = await capture(argv, deps);
    return { ...r, out: outs.join('\n') };
  } finally {
    console.log = orig;
  }
};

t.test('dkc run --plan prints the plan as JSON and makes nothing', async (t) => {
  const { mkdtemp, readdir, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-cli-plan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const k = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.19,1.25,1.30,1.33,1.37', '--suite', 'scale,node-preflight', '--report-dir', join(dir, 'r'), '--plan']);
  t.equal(k.code, 0, k.err);
  const plan = JSON.parse(k.out);
  t.equal(plan.provider, 'kind');
  t.same(
    plan.clusters.map((c: any) => [c.version, c.kind.release, c.kind.calico]),
    [
      ['v1.19', 'v0.17.0', 'v3.20'],
      ['v1.25', 'v0.24.0', 'v3.26'],
      ['v1.30', 'v0.29.0', 'v3.29'],
      ['v1.33', 'v0.32.0', 'v3.31'],
      ['v1.37', 'v0.33.0', 'v3.31'],
    ],
  );
  for (const c of plan.clusters) t.match(c.kind.nodeImage, new RegExp(`^kindest/node:${c.label.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
  t.same(plan.suites.map((s: any) => s.id), ['node-preflight', 'scale']);
  t.equal(plan.reportDir, join(dir, 'r'));
  t.same(await readdir(dir), [], 'the report dir is not created by --plan');
  const e = await captureAll(['run', '--plan']);
  t.equal(e.code, 0, e.err);
  t.same(JSON.parse(e.out).clusters.map((c: any) => c.label), ['v1.20.15 (emulated)', 'v1.27.16 (emulated)', 'v1.32.9 (emulated)', 'v1.35.0 (emulated)']);
});

t.test('dkc run --cluster kind: parallel from --memory-budget, its warning on stderr and in the plan; --parallel wins; bad budgets exit 2', async (t) => {
  const fits = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.30,1.32,1.33', '--memory-budget', '10000', '--plan']);
  t.equal(fits.code, 0, fits.err);
  const p = JSON.parse(fits.out);
  t.equal(p.parallel, 2, 'two clusters of 4608 MiB fit 10000 MiB');
  t.same(p.parallelFrom, { memoryBudgetMiB: 10000, perClusterMiB: 4608 });
  t.notMatch(fits.err, /warning/);
  const tight = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.30,1.32', '--memory-budget', '3000', '--plan']);
  t.equal(tight.code, 0, tight.err);
  t.match(tight.err, /^warning: one kind cluster needs about 4608 MiB \(3 nodes x 1536 MiB\) but the budget is 3000 MiB; running one at a time anyway$/m);
  t.equal(JSON.parse(tight.out).parallel, 1);
  t.match(JSON.parse(tight.out).parallelFrom.warning, /budget is 3000 MiB/);
  const explicit = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.30,1.32', '--parallel', '2', '--plan']);
  t.equal(JSON.parse(explicit.out).parallel, 2);
  t.notOk('parallelFrom' in JSON.parse(explicit.out));
  const bad = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.32', '--memory-budget', '8GiB', '--plan']);
  t.equal(bad.code, 2);
  t.match(bad.err, /--memory-budget '8GiB': expected a whole number of MiB from 1 to \d+, e\.g\. 16384 for 16 GiB/);
  const embedded = await captureAll(['run', '--memory-budget', '8192', '--plan']);
  t.equal(embedded.code, 2);
  t.match(embedded.err, /--memory-budget '8192': only for --cluster kind/);
});

t.test('dkc run: bad flags exit 2 naming each flag, before anything runs', async (t) => {
  const a = await captureAll(['run', '--cluster', 'kind', '--k8s', '1.18', '--suite', 'mysql', '--plan']);
  t.equal(a.code, 2);
  t.equal(a.out, '', 'no plan printed');
  t.match(a.err, /ERROR: the run configuration has 2 problems:\n {2}--k8s '1\.18': no kind node image known for Kubernetes v1\.18; accepted: v1\.19 to v1\.37.*\n {2}--suite 'mysql': unknown suite 'mysql'/);
  const b = await captureAll(['run', '--cluster', 'existing']);
  t.equal(b.code, 2, 'refused without --plan too: no cluster starts');
  t.match(b.err, /--kubeconfig: required with --cluster existing/);
  const c = await captureAll(['run', '--parallel', '0', '--plan']);
  t.equal(c.code, 2);
  t.match(c.err, /--parallel '0': expected a whole number from 1 to 16/);
  const d = await captureAll(['run', '--config', '/nonexistent/dkc-run.yaml', '--plan']);
  t.equal(d.code, 2);
  t.match(d.err, /--config '\/nonexistent\/dkc-run\.yaml': no such file/);
  const r = await captureAll(['run', '--read-only', '--plan']);
  t.equal(r.code, 2);
  t.match(r.err, /--read-only: only for --cluster existing: the embedded provider makes a cluster and a backend for this run alone/);
  const e = await captureAll(['run', '--no-such-flag']);
  t.equal(e.code, 2);
  t.match(e.err, /unknown option '--no-such-flag'/);
});

t.test('dkc run without --plan runs the conformance loop: exit 0 when every required result passed, 1 otherwise', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-cli-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const listeners = process.listenerCount('SIGINT');
  const seen: { config: any; signal?: AbortSignal }[] = [];
  const fakeRun = (status: string) => async (config: any, opts: any) => {
    seen.push({ config, signal: opts.signal });
    return { results: [{ id: 'bind-static', status, required: true }] } as any;
  };
  const pass = await captureAll(['run', '--k8s', '1.32', '--suite', 'bind-static', '--report-dir', join(dir, 'r')], { runConformance: fakeRun('passed') });
  t.equal(pass.code, 0, pass.err);
  t.same(seen[0]!.config.versions, ['v1.32']);
  t.same(seen[0]!.config.suites, ['bind-static']);
  t.equal(seen[0]!.config.reportDir, join(dir, 'r'));
  t.equal(seen[0]!.signal?.aborted, false, 'the loop gets an abort signal');
  const fail = await captureAll(['run', '--k8s', '1.32', '--report-dir', join(dir, 'r')], { runConformance: fakeRun('failed') });
  t.equal(fail.code, 1);
  // --read-only: handed to the loop; a run that skipped its writing scenarios exits 0 only when nothing that ran failed.
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  const roRun = (statuses: string[]) => async (config: any, opts: any) => {
    seen.push({ config, signal: opts.signal });
    return { environment: { readOnly: config.readOnly }, results: statuses.map((status, i) => ({ id: `s${i}`, status, required: true })) } as any;
  };
  const ro = await captureAll(['run', '--cluster', 'existing', '--kubeconfig', join(dir, 'kubeconfig'), '--read-only', '--report-dir', join(dir, 'r')], { runConformance: roRun(['passed', 'skipped']) });
  t.equal(ro.code, 0, ro.err);
  t.equal(seen.at(-1)!.config.readOnly, true, 'the loop is told to run read-only');
  const roBad = await captureAll(['run', '--cluster', 'existing', '--kubeconfig', join(dir, 'kubeconfig'), '--read-only', '--report-dir', join(dir, 'r')], { runConformance: roRun(['failed', 'skipped']) });
  t.equal(roBad.code, 1, 'a read-only check that failed fails the run');
  const roNothing = await captureAll(['run', '--cluster', 'existing', '--kubeconfig', join(dir, 'kubeconfig'), '--read-only', '--report-dir', join(dir, 'r')], { runConformance: roRun(['skipped']) });
  t.equal(roNothing.code, 1, 'a read-only run where nothing ran is no pass');
  const notRo = await captureAll(['run', '--cluster', 'existing', '--kubeconfig', join(dir, 'kubeconfig'), '--report-dir', join(dir, 'r')], { runConformance: roRun(['passed', 'skipped']) });
  t.equal(notRo.code, 1, 'without --read-only a skipped required scenario is no pass');
  t.equal(seen.at(-1)!.config.readOnly, false);
  t.equal(process.listenerCount('SIGINT'), listeners, 'no signal handler left behind');
});

t.test('dkc run: Ctrl-C aborts the loop, a second one waits for the cleanup, and the exit code is 130', async (t) => {
  const listeners = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
  const interrupted = await captureAll(['run', '--k8s', '1.32'], {
    runConformance: async (_config, opts) => {
      process.emit('SIGINT', 'SIGINT');
      t.equal(opts.signal?.aborted, true, 'the first signal aborts the run');
      process.emit('SIGTERM', 'SIGTERM');
      return { results: [{ id: 'bind-static', status: 'passed', required: true }] } as any;
    },
  });
  t.equal(interrupted.code, 130);
  t.match(interrupted.err, /SIGINT: stopping the scenarios and clusters, then writing the partial report\nSIGTERM again: still removing what the run made, please wait/);
  t.equal(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM'), listeners, 'no signal handler left behind');
});

t.test('dkc run: a failure of the loop itself is exit 1 (2 for configuration errors such as missing credentials)', async (t) => {
  const { HarnessError } = await import('../lib/errors.js');
  const listeners = process.listenerCount('SIGINT');
  const broken = await captureAll(['run'], {
    runConformance: async () => {
      throw new HarnessError('COMMAND_FAILED', 'disk full');
    },
  });
  t.equal(broken.code, 1);
  t.match(broken.err, /ERROR: disk full/);
  const config = await captureAll(['run', '--backend', 'dsp.example:7717'], {
    runConformance: async () => {
      throw new HarnessError('BAD_CONFIG', '--backend http://dsp.example:7717 needs credentials');
    },
  });
  t.equal(config.code, 2);
  const plain = await captureAll(['run'], {
    runConformance: async () => {
      throw new TypeError('x is undefined');
    },
  });
  t.equal(plain.code, 1);
  t.match(plain.err, /ERROR: x is undefined/);
  t.equal(process.listenerCount('SIGINT'), listeners, 'handlers removed after a failure too');
});

t.test('dkc run --plan for the existing provider reads no cluster; --help and --version exit 0', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-cli-plan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'kc'), 'apiVersion: v1\nkind: Config\n');
  const e = await captureAll(['run', '--cluster', 'existing', '--kubeconfig', join(dir, 'kc'), '--plan']);
  t.equal(e.code, 0, e.err);
  t.same(JSON.parse(e.out).clusters, [{ provider: 'existing', version: null, label: null, emulated: false, kubeconfig: join(dir, 'kc') }]);
  const outs: string[] = [];
  const writeOut = (s: string) => void outs.push(s);
  t.equal((await capture(['--help'], { writeOut })).code, 0);
  t.equal((await capture(['run', '--help'], { writeOut })).code, 0);
  t.equal((await capture(['--version'], { writeOut })).code, 0);
  const text = outs.join('');
  t.match(text, /Usage: dkc \[options\] \[command\]/);
  t.match(text, /--report-dir <dir>/);
  t.match(text, /^\d+\.\d+\.\d+\n/m, 'the version');
});

t.test('flex-sanity and bench refuse bad flags with exit 2', async (t) => {
  const a = await capture(['flex-sanity']);
  t.equal(a.code, 2);
  t.match(a.err, /required option '--driver <path>' not specified/);
  const b = await capture(['bench', '--seconds', '-3']);
  t.equal(b.code, 2);
  t.match(b.err, /'-3' is not a positive number/);
  const c = await capture(['cluster', 'up', '--provider', 'minikube']);
  t.equal(c.code, 2);
  t.match(c.err, /Allowed choices are embedded, kind, existing/);
});

t.test('dkc mock-datera in-process: prints where it listens and the credentials, and cleans up on SIGINT', async (t) => {
  const outs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void outs.push(a.join(' '));
  process.env.DKC_DATERA_PASSWORD = 'cli-test-password';
  t.teardown(() => {
    console.log = orig;
    delete process.env.DKC_DATERA_PASSWORD;
  });
  const running = capture(['mock-datera', '--targets', 'none', '--port', '0', '--no-tls', '--user', 'tester']);
  for (let i = 0; i < 200 && !outs.some((l) => l.startsWith('ready;')); i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(outs.some((l) => l.startsWith('ready;')), 'ready');
  process.emit('SIGINT', 'SIGINT');
  const r = await running;
  console.log = orig;
  t.equal(r.code, 0);
  const text = outs.join('\n');
  t.match(text, /user:\s+tester\n\s+password: \(as given\)/, 'a given password is not printed');
  t.notMatch(text, /cli-test-password/);
  t.notMatch(text, /https:/, '--no-tls: no HTTPS URL');
  t.match(text, /state:\s+\S+ \(removed at exit\)/);
  t.match(r.err, /clean: everything this command made is gone/);
});

t.test('dkc flex-sanity: a driver that does not exist is refused', async (t) => {
  const r = await capture(['flex-sanity', '--driver', '/nonexistent/driver']);
  t.equal(r.code, 2, r.err);
  t.match(r.err, /\/nonexistent\/driver/);
});
