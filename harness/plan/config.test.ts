import t, { type Test } from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMemoryBudgetMiB } from '../../clusters/kind/parallel.js';
import { ConfigError, REFERENCE_DRIVER, SUITES, SUITE_IDS, checkoutRoot, loadRunConfig, parseConfigFile, splitList, suggest, timestamp, type RunFlags } from './config.js';

const DIGEST = 'b'.repeat(64);
const NOW = new Date('2026-05-01T10:20:30.456Z');

/** A temp dir with a config file, a kubeconfig and driver files; removed at teardown. */
async function fixture(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-plan-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'kubeconfig'), 'apiVersion: v1\n');
  await writeFile(join(dir, 'driver'), '#!/bin/sh\n');
  await chmod(join(dir, 'driver'), 0o755);
  await writeFile(join(dir, 'not-exec'), '#!/bin/sh\n');
  await mkdir(join(dir, 'reports'));
  return dir;
}

/** The problems of a refused config, as `where: message` lines. */
function problemsOf(flags: RunFlags, cwd: string): string[] {
  try {
    loadRunConfig(flags, { cwd, now: NOW });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.where}: ${p.message}`);
    throw err;
  }
  return [];
}

t.test('SUITES: eleven ids in run order, security-lint the only optional one', async (t) => {
  t.same(SUITE_IDS, ['node-preflight', 'network', 'bind-static', 'bind-dynamic', 'statefulset-mysql', 'scale', 'delete-cascade', 'delete-orphan', 'reclaim', 'security-lint', 'hygiene']);
  t.same(SUITES.filter((s) => !s.required).map((s) => s.id), ['security-lint']);
  for (const s of SUITES) t.ok(s.title.length > 10, `${s.id} has a title`);
});

t.test('defaults: embedded, the default profiles, every suite, the reference driver, mock backend, reports/<timestamp>', async (t) => {
  const dir = await fixture(t);
  const c = loadRunConfig({}, { cwd: dir, now: NOW, cpus: 1 });
  t.equal(c.cluster, 'embedded');
  t.same(c.versions, ['v1.20', 'v1.27', 'v1.32', 'v1.35']);
  t.same(c.suites, SUITE_IDS);
  t.same(c.driver, { kind: 'path', path: join(checkoutRoot(), REFERENCE_DRIVER), reference: true });
  t.same(c.backend, { kind: 'mock' });
  t.equal(c.reportDir, join(dir, 'reports/2026-05-01T10-20-30Z'));
  t.equal(c.parallel, 1);
  t.equal(c.kubeconfig, undefined);
  t.equal(c.configFile, undefined);
  t.equal(timestamp(NOW), '2026-05-01T10-20-30Z');
});

t.test('flags: versions normalised, suites put in run order, paths resolved, backend URL normalised', async (t) => {
  const dir = await fixture(t);
  const c = loadRunConfig(
    { cluster: 'kind', k8s: '1.37, v1.19.16', suite: 'hygiene,bind-static', driver: './driver', backend: '10.0.0.5:7717', reportDir: 'out', parallel: '3' },
    { cwd: dir, now: NOW },
  );
  t.same(c.versions, ['v1.37', 'v1.19'], 'order as given');
  t.same(c.suites, ['bind-static', 'hygiene'], 'run order, not the order given');
  t.same(c.driver, { kind: 'path', path: join(dir, 'driver'), reference: false });
  t.same(c.backend, { kind: 'datera', url: 'http://10.0.0.5:7717' });
  t.equal(c.reportDir, join(dir, 'out'));
  t.equal(c.parallel, 3);
  const img = loadRunConfig({ cluster: 'kind', k8s: '1.30', driver: 'registry.example.com/datera/flex:1.2', backend: 'https://dsp.example.com/' }, { cwd: dir });
  t.same(img.driver, { kind: 'image', image: 'registry.example.com/datera/flex:1.2' });
  t.same(img.backend, { kind: 'datera', url: 'https://dsp.example.com' });
  const e = loadRunConfig({ cluster: 'existing', kubeconfig: 'kubeconfig', driver: `datera/flex@sha256:${DIGEST}` }, { cwd: dir });
  t.equal(e.kubeconfig, join(dir, 'kubeconfig'));
  t.same(e.versions, []);
  t.equal(e.driver.kind, 'image');
  const emb = loadRunConfig({ k8s: 'v1.6.13,1.32' }, { cwd: dir });
  t.same(emb.versions, ['v1.6', 'v1.32']);
});

t.test('bad flags: every problem at once, each naming the flag, what is accepted and the fix', async (t) => {
  const dir = await fixture(t);
  const p = problemsOf({ cluster: 'kind', k8s: '1.18,1.30,v1.30', suite: 'bind-statc,mysql', driver: 'nope/x', backend: 'a b', kubeconfig: 'kubeconfig', parallel: 'two' }, dir);
  t.equal(p.length, 8, p.join('\n'));
  t.match(p[0], /^--k8s '1\.18,1\.30,v1\.30': no kind node image known for Kubernetes v1\.18; accepted: v1\.19 to v1\.37/);
  t.match(p[1], /v1\.30 is given twice; give each version once/);
  t.match(p[2], /^--suite 'bind-statc,mysql': unknown suite 'bind-statc' \(did you mean 'bind-static'\?\); accepted: node-preflight, network/);
  t.match(p[3], /unknown suite 'mysql' \(did you mean 'statefulset-mysql'\?\); accepted/);
  t.match(p[4], /^--driver 'nope\/x': no file .*nope\/x, and as an image it has no tag or digest/);
  t.match(p[5], /^--backend 'a b': neither 'mock' nor a Datera API address; accepted: mock, host:port/);
  t.match(p[6], /^--kubeconfig 'kubeconfig': only for --cluster existing; the kind provider makes its cluster/);
  t.match(p[7], /^--parallel 'two': expected a whole number from 1 to 16/);
  const err = (() => {
    try {
      loadRunConfig({ cluster: 'kube' }, { cwd: dir });
    } catch (e) {
      return e as ConfigError;
    }
  })();
  t.equal(err?.code, 'BAD_CONFIG');
  t.equal(err?.message, "the run configuration has a problem:\n  --cluster 'kube': unknown cluster provider; accepted: embedded, kind, existing");
  t.match(problemsOf({ cluster: 'kindd' }, dir)[0], /did you mean 'kind'/);
});

t.test('per-provider rules: existing refuses --k8s and needs a kubeconfig; embedded takes its profiles and no images', async (t) => {
  const dir = await fixture(t);
  const a = problemsOf({ cluster: 'existing', k8s: '1.32' }, dir);
  t.match(a[0], /^--k8s '1\.32': the existing provider runs on the version the cluster already has .*remove --k8s/);
  t.match(a[1], /^--kubeconfig: required with --cluster existing/);
  t.match(problemsOf({ cluster: 'existing', kubeconfig: 'missing' }, dir)[0], /^--kubeconfig 'missing': no such file \(.*missing\)/);
  t.match(problemsOf({ k8s: '1.33' }, dir)[0], /^--k8s '1\.33': no embedded profile for Kubernetes '1\.33'; accepted: v1\.6, v1\.10, v1\.20, v1\.27, v1\.32, v1\.35\. .*--cluster kind/);
  t.match(problemsOf({ driver: 'busybox:1.36' }, dir)[0], /the embedded cluster installs a driver executable .*not an image/);
  t.match(problemsOf({ kubeconfig: 'kubeconfig' }, dir)[0], /only for --cluster existing; the embedded provider/);
  t.match(problemsOf({ cluster: 'kind', k8s: '1.32.5' }, dir)[0], /pins v1\.32\.11 for v1\.32/);
  t.match(problemsOf({ k8s: ' , ' }, dir)[0], /no versions given/);
  t.match(problemsOf({ suite: ',' }, dir)[0], /no suites given/);
});

t.test('read-only: existing clusters only, from the flag or the file; false unless given', async (t) => {
  const dir = await fixture(t);
  t.equal(loadRunConfig({}, { cwd: dir, now: NOW }).readOnly, false);
  t.equal(loadRunConfig({ cluster: 'existing', kubeconfig: 'kubeconfig', readOnly: true }, { cwd: dir, now: NOW }).readOnly, true);
  await writeFile(join(dir, 'ro.yaml'), 'cluster: existing\nkubeconfig: kubeconfig\nreadOnly: true\n');
  t.equal(loadRunConfig({ config: 'ro.yaml' }, { cwd: dir, now: NOW }).readOnly, true, 'from the file');
  await writeFile(join(dir, 'rw.yaml'), 'cluster: existing\nkubeconfig: kubeconfig\nreadOnly: false\n');
  t.equal(loadRunConfig({ config: 'rw.yaml' }, { cwd: dir, now: NOW }).readOnly, false);
  t.equal(loadRunConfig({ config: 'rw.yaml', readOnly: true }, { cwd: dir, now: NOW }).readOnly, true, 'the flag wins');
  t.match(problemsOf({ readOnly: true }, dir), [/^--read-only: only for --cluster existing: the embedded provider makes a cluster .* --cluster existing --kubeconfig PATH --read-only/]);
  t.match(problemsOf({ cluster: 'kind', k8s: '1.32', readOnly: true }, dir), [/^--read-only: only for --cluster existing: the kind provider/]);
  await writeFile(join(dir, 'bad-ro.yaml'), 'readOnly: yes please\n');
  t.match(problemsOf({ config: 'bad-ro.yaml' }, dir), [/^bad-ro\.yaml:1: readOnly: expected true or false, got string "yes please"/]);
  await writeFile(join(dir, 'ro-embedded.yaml'), 'readOnly: true\n');
  t.match(problemsOf({ config: 'ro-embedded.yaml' }, dir), [/^ro-embedded\.yaml:1: readOnly: only for --cluster existing/]);
});

t.test('driver and report dir checks', async (t) => {
  const dir = await fixture(t);
  t.match(problemsOf({ driver: './missing' }, dir)[0], /^--driver '\.\/missing': no such file/);
  t.match(problemsOf({ driver: 'not-exec' }, dir)[0], /not-exec is not executable; chmod \+x it/);
  t.match(problemsOf({ cluster: 'kind', driver: 'Bad Image!' }, dir)[0], /neither an existing file nor an image reference/);
  t.match(problemsOf({ reportDir: 'kubeconfig' }, dir)[0], /^--report-dir 'kubeconfig': .*exists and is not a directory/);
  t.same(problemsOf({ reportDir: 'reports' }, dir), [], 'an existing directory is fine');
  t.match(problemsOf({ backend: 'host:99999' }, dir)[0], /neither 'mock' nor a Datera API address/);
  t.match(problemsOf({ parallel: '17' }, dir)[0], /1 to 16/);
  t.same(problemsOf({}, dir), [], 'defaults pass');
});

t.test('a missing reference driver is reported', async (t) => {
  const dir = await fixture(t);
  t.throws(() => loadRunConfig({}, { cwd: dir, root: dir }), { message: /--driver: the reference driver .* is missing from this checkout/ });
});

t.test('config file: values, paths relative to the file, flags win', async (t) => {
  const dir = await fixture(t);
  await mkdir(join(dir, 'conf'));
  await writeFile(
    join(dir, 'conf/run.yaml'),
    [
      'cluster: kind',
      "k8s: ['1.30', v1.33]",
      'suites: [scale, node-preflight]',
      'driver: ../driver',
      'backend: mock',
      'reportDir: ../out',
      'parallel: 2',
      'kind:',
      '  versions:',
      '    v1.30:',
      `      nodeImage: kindest/node:v1.30.4@sha256:${DIGEST}`,
      '      kindRelease: v0.24.0',
      '      calico: v3.28.2',
      '',
    ].join('\n'),
  );
  const c = loadRunConfig({ config: 'conf/run.yaml' }, { cwd: dir });
  t.equal(c.cluster, 'kind');
  t.same(c.versions, ['v1.30', 'v1.33']);
  t.same(c.suites, ['node-preflight', 'scale']);
  t.equal(c.driver.kind === 'path' && c.driver.path, join(dir, 'driver'));
  t.equal(c.reportDir, join(dir, 'out'));
  t.equal(c.parallel, 2);
  t.same(c.kindOverrides, { 'v1.30': { nodeImage: `kindest/node:v1.30.4@sha256:${DIGEST}`, kindRelease: 'v0.24.0', calico: 'v3.28.2' } });
  t.equal(c.configFile, join(dir, 'conf/run.yaml'));
  const f = loadRunConfig({ config: 'conf/run.yaml', k8s: '1.30.4', parallel: '1', suite: 'hygiene' }, { cwd: dir });
  t.same(f.versions, ['v1.30'], 'the override pinned v1.30.4, so that patch is accepted');
  t.equal(f.parallel, 1);
  t.same(f.suites, ['hygiene']);
  await writeFile(join(dir, 'empty.yaml'), '# nothing\n');
  t.equal(loadRunConfig({ config: 'empty.yaml' }, { cwd: dir }).cluster, 'embedded', 'an empty file is no settings');
  await writeFile(join(dir, 'list.yaml'), 'k8s: 1.27, 1.32\nsuites: scale\n');
  t.same(loadRunConfig({ config: 'list.yaml' }, { cwd: dir }).versions, ['v1.27', 'v1.32'], 'a comma-separated string works too');
});

t.test('config file problems name file:line and key, and are reported with flag problems', async (t) => {
  const dir = await fixture(t);
  await writeFile(
    join(dir, 'bad.yaml'),
    [
      'cluster: kind', // 1
      'k8s: [1.30, "1.31", {a: 1}]', // 2
      'suite: [scale]', // 3
      'parallel: "2"', // 4
      'driver: 12', // 5
      'kind:', // 6
      '  versions:', // 7
      '    v1.30:', // 8
      '      image: x', // 9
      '      kindRelease: 0.24', // 10
      '      calico: three', // 11
      '      nodeImage: kindest/node:v1.31.1', // 12
      '    v1.30.1: {}', // 13
      '    v1.31: 4', // 14
      '  binaries: {}', // 15
      'reportDir:', // 16
      '',
    ].join('\n'),
  );
  const p = problemsOf({ config: 'bad.yaml', backend: 'x y' }, dir);
  const expect = [
    /^bad\.yaml:2: k8s\[0\]: 1\.30 is a number to YAML \(1\.30 reads as 1\.3\); quote it: '1\.30' or v1\.30/,
    /^bad\.yaml:2: k8s\[2\]: expected Kubernetes versions as a string, got a mapping/,
    /^bad\.yaml:3: suite: unknown key \(did you mean 'suites'\?\); accepted: cluster, k8s, suites/,
    /^bad\.yaml:4: parallel: expected a whole number from 1 to 16, got string "2"/,
    /^bad\.yaml:5: driver: expected a driver path or image as a string, got number 12/,
    /^bad\.yaml:9: kind\.versions\.v1\.30\.image: unknown key \(did you mean 'nodeImage'\?\)/,
    /^bad\.yaml:10: kind\.versions\.v1\.30\.kindRelease: expected a string, got number 0\.24/,
    /^bad\.yaml:11: kind\.versions\.v1\.30\.calico: 'three' is not a Calico version; write it as v3\.31/,
    /^bad\.yaml:12: kind\.versions\.v1\.30\.nodeImage: node image 'kindest\/node:v1\.31\.1' is not a v1\.30 image pinned by digest/,
    /^bad\.yaml:13: kind\.versions\.v1\.30\.1: 'v1\.30\.1' is not a Kubernetes minor; write it as v1\.32/,
    /^bad\.yaml:14: kind\.versions\.v1\.31: expected a mapping with kindRelease, nodeImage, calico, got number 4/,
    /^bad\.yaml:15: kind\.binaries: unknown key; accepted: versions/,
    /^bad\.yaml:16: reportDir: expected a path as a string, got nothing/,
    /^--backend 'x y': neither 'mock'/,
  ];
  t.equal(p.length, expect.length, p.join('\n'));
  expect.forEach((re, i) => t.match(p[i], re));
});

t.test('config file: syntax errors, wrong top level, unreadable files', async (t) => {
  const dir = await fixture(t);
  await writeFile(join(dir, 'syntax.yaml'), 'cluster: kind\nk8s: [1.30\nsuites: x\n');
  const s = problemsOf({ config: 'syntax.yaml' }, dir);
  t.ok(s.length >= 1);
  t.match(s[0], /^syntax\.yaml:\d+: YAML syntax: /);
  await writeFile(join(dir, 'dup.yaml'), 'cluster: kind\ncluster: embedded\n');
  t.same(problemsOf({ config: 'dup.yaml' }, dir), ['dup.yaml:2: cluster: given twice (first on line 1); keep one']);
  await writeFile(join(dir, 'dup2.yaml'), 'kind:\n  versions:\n    v1.30: {calico: v3.28}\n    "1.30": {calico: v3.29}\n');
  t.same(problemsOf({ config: 'dup2.yaml' }, dir), [], 'v1.30 and 1.30 are different keys to YAML; the later one wins');
  await writeFile(join(dir, 'list.yaml'), '- cluster: kind\n');
  t.match(problemsOf({ config: 'list.yaml' }, dir)[0], /^list\.yaml:1: \(top level\): the file must be a mapping of keys .*not a list/);
  await writeFile(join(dir, 'scalar.yaml'), 'kind\n');
  t.match(problemsOf({ config: 'scalar.yaml' }, dir)[0], /not a scalar/);
  await writeFile(join(dir, 'num.yaml'), 'k8s: 1.30\nkind: 3\n');
  const n = problemsOf({ config: 'num.yaml' }, dir);
  t.match(n[0], /^num\.yaml:1: k8s: 1\.30 is a number to YAML/);
  t.match(n[1], /^num\.yaml:2: kind: expected a mapping with 'versions', got number 3/);
  await writeFile(join(dir, 'kv.yaml'), 'kind:\n  versions: [1]\nsuites: 3\n');
  const kv = problemsOf({ config: 'kv.yaml' }, dir);
  t.match(kv[0], /^kv\.yaml:2: kind\.versions: expected a mapping of Kubernetes versions/);
  t.match(kv[1], /^kv\.yaml:3: suites: expected suite ids: a list of strings or one comma-separated string, got number 3/);
  t.match(problemsOf({ config: 'missing.yaml' }, dir)[0], /^--config 'missing\.yaml': no such file; give the path of a YAML run configuration/);
  t.match(problemsOf({ config: '.' }, dir)[0], /^--config '\.': cannot read it \(EISDIR\)/);
  await writeFile(join(dir, 'ex.yaml'), 'cluster: existing\nk8s: "1.32"\nkubeconfig: kubeconfig\n');
  t.match(problemsOf({ config: 'ex.yaml' }, dir)[0], /^ex\.yaml:2: k8s: the existing provider runs on the version the cluster already has/);
  await writeFile(join(dir, 'ex2.yaml'), 'cluster: existing\nkubeconfig: kubeconfig\n');
  t.equal(loadRunConfig({ config: 'ex2.yaml' }, { cwd: dir }).kubeconfig, join(dir, 'kubeconfig'), 'relative to the file');
});

t.test('parallel for kind: from the memory budget unless --parallel (flag or file) says; embedded and existing keep 1', async (t) => {
  const dir = await fixture(t);
  const load = (flags: RunFlags, budget?: number) => loadRunConfig(flags, { cwd: dir, now: NOW, ...(budget !== undefined ? { memoryBudgetMiB: budget } : {}) });
  // 4608 MiB per cluster (3 nodes x 1536 MiB): 10000 MiB fit two.
  const two = load({ cluster: 'kind', k8s: '1.30,1.32,1.33' }, 10_000);
  t.equal(two.parallel, 2);
  t.same(two.parallelFrom, { memoryBudgetMiB: 10_000, perClusterMiB: 4608 });
  t.equal(load({ cluster: 'kind', k8s: '1.30,1.32' }, 1_000_000).parallel, 2, 'never more than one per version');
  t.equal(load({ cluster: 'kind', k8s: '1.19,1.20,1.21,1.22,1.23,1.24,1.25,1.26,1.27,1.28,1.29,1.30,1.31,1.32,1.33,1.34,1.35' }, 1_000_000).parallel, 16, 'nor more than --parallel accepts');
  const tight = load({ cluster: 'kind', k8s: '1.30,1.32' }, 3000);
  t.equal(tight.parallel, 1, 'one at a time when even one does not fit');
  t.match(tight.parallelFrom, { memoryBudgetMiB: 3000, perClusterMiB: 4608, warning: /one kind cluster needs about 4608 MiB .* but the budget is 3000 MiB; running one at a time anyway/ });
  t.equal(load({ cluster: 'kind', k8s: '1.32' }).parallelFrom?.memoryBudgetMiB, defaultMemoryBudgetMiB(), "by default 3/4 of this machine's memory");

  // An explicit --parallel always wins, also a smaller one, and leaves no parallelFrom.
  const explicit = load({ cluster: 'kind', k8s: '1.30,1.32,1.33', parallel: '1' }, 1_000_000);
  t.equal(explicit.parallel, 1);
  t.notOk('parallelFrom' in explicit);
  t.equal(load({ cluster: 'kind', k8s: '1.30,1.32', parallel: '3' }, 3000).parallel, 3, 'even beyond the budget');
  // --memory-budget replaces the machine's figure.
  t.same(load({ cluster: 'kind', k8s: '1.30,1.32,1.33', memoryBudget: '14000' }, 3000).parallelFrom, { memoryBudgetMiB: 14_000, perClusterMiB: 4608 });
  t.equal(load({ cluster: 'kind', k8s: '1.30,1.32,1.33', memoryBudget: '14000' }, 3000).parallel, 3);

  // existing: 1 unless --parallel, whatever the memory; embedded: one per CPU within versions, memory and 4.
  const ex = load({ cluster: 'existing', kubeconfig: 'kubeconfig' }, 1_000_000);
  t.equal(ex.parallel, 1);
  t.notOk('parallelFrom' in ex, 'existing: no parallelFrom');
  const emb = (flags: RunFlags, cpus: number, budget: number) => loadRunConfig(flags, { cwd: dir, now: NOW, cpus, memoryBudgetMiB: budget });
  t.equal(emb({ k8s: '1.27,1.32' }, 1, 1_000_000).parallel, 1, 'embedded: one CPU, one at a time');
  t.equal(emb({ k8s: '1.27,1.32' }, 2, 1_000_000).parallel, 2, 'embedded: one per CPU');
  t.equal(emb({}, 64, 1_000_000).parallel, 4, 'embedded: at most 4 by default');
  t.equal(emb({ k8s: '1.27,1.32' }, 8, 1_000_000).parallel, 2, 'embedded: at most one per version');
  t.equal(emb({ k8s: '1.27,1.32' }, 8, 2000).parallel, 1, 'embedded: as many as fit the memory (1536 MiB each)');
  t.equal(emb({ k8s: '1.27,1.32' }, 8, 100).parallel, 1, 'embedded: never fewer than one');
  t.notOk('parallelFrom' in emb({}, 2, 1_000_000), 'embedded: no parallelFrom');
  t.equal(emb({ k8s: '1.27,1.32', parallel: '1' }, 8, 1_000_000).parallel, 1, 'embedded: --parallel wins');
  t.equal(load({ k8s: '1.27,1.32', parallel: '2' }).parallel, 2);

  // The file: parallel there wins over the budget; a flag wins over the file, either way round.
  await writeFile(join(dir, 'par.yaml'), "cluster: kind\nk8s: ['1.30', '1.32', '1.33']\nparallel: 1\n");
  await writeFile(join(dir, 'mem.yaml'), "cluster: kind\nk8s: ['1.30', '1.32', '1.33']\nmemoryBudget: 9300\n");
  t.equal(load({ config: 'par.yaml' }, 1_000_000).parallel, 1);
  t.notOk('parallelFrom' in load({ config: 'par.yaml' }, 1_000_000));
  t.same(load({ config: 'mem.yaml' }, 1_000_000).parallelFrom, { memoryBudgetMiB: 9300, perClusterMiB: 4608 });
  t.equal(load({ config: 'mem.yaml' }, 1_000_000).parallel, 2);
  t.same(load({ config: 'par.yaml', memoryBudget: '20000' }).parallelFrom, { memoryBudgetMiB: 20_000, perClusterMiB: 4608 }, '--memory-budget beats the file\'s parallel');
  t.equal(load({ config: 'mem.yaml', parallel: '3' }).parallel, 3, "--parallel beats the file's memoryBudget");
  t.notOk('parallelFrom' in load({ config: 'mem.yaml', parallel: '3' }));
});

t.test('--memory-budget and memoryBudget problems name the flag or line and the fix', async (t) => {
  const dir = await fixture(t);
  t.same(problemsOf({ cluster: 'kind', k8s: '1.32', memoryBudget: 'lots' }, dir), [
    "--memory-budget 'lots': expected a whole number of MiB from 1 to 16777216, e.g. 16384 for 16 GiB: the memory the kind clusters may use together (or give --parallel N)",
  ]);
  t.match(problemsOf({ cluster: 'kind', k8s: '1.32', memoryBudget: '0' }, dir)[0], /^--memory-budget '0': expected a whole number of MiB from 1/);
  t.match(problemsOf({ cluster: 'kind', k8s: '1.32', memoryBudget: '8G' }, dir)[0], /^--memory-budget '8G': expected a whole number of MiB/);
  t.match(problemsOf({ cluster: 'kind', k8s: '1.32', memoryBudget: '99999999' }, dir)[0], /^--memory-budget '99999999': expected a whole number of MiB from 1 to 16777216/);
  t.same(problemsOf({ memoryBudget: '8192' }, dir), [
    "--memory-budget '8192': only for --cluster kind (it sizes how many kind clusters run at once); the embedded provider runs --parallel clusters at once, default 1. Remove it, or use --cluster kind",
  ]);
  t.match(problemsOf({ cluster: 'existing', kubeconfig: 'kubeconfig', memoryBudget: '8192' }, dir)[0], /only for --cluster kind \(.*\); the existing provider/);
  t.same(problemsOf({ cluster: 'kind', k8s: '1.32', memoryBudget: '8192', parallel: '2' }, dir), ["--memory-budget '8192': --parallel '2' already says how many clusters to bring up at once; give one of the two"]);
  t.same(problemsOf({ cluster: 'kubernetes', memoryBudget: '8192' }, dir).length, 1, 'with an unknown provider only that is reported');
  await writeFile(join(dir, 'both.yaml'), "cluster: kind\nk8s: ['1.32']\nparallel: 2\nmemoryBudget: 8192\n");
  t.same(problemsOf({ config: 'both.yaml' }, dir), ['both.yaml:4: memoryBudget: parallel in the same file already says how many clusters to bring up at once; keep one of the two']);
  await writeFile(join(dir, 'str.yaml'), "cluster: kind\nk8s: ['1.32']\nmemoryBudget: 8 GiB\n");
  t.same(problemsOf({ config: 'str.yaml' }, dir), ['str.yaml:3: memoryBudget: expected a whole number of MiB, e.g. 16384 for 16 GiB, got string "8 GiB"']);
  await writeFile(join(dir, 'neg.yaml'), "cluster: kind\nk8s: ['1.32']\nmemoryBudget: -5\n");
  t.match(problemsOf({ config: 'neg.yaml' }, dir)[0], /^neg\.yaml:3: memoryBudget: expected a whole number of MiB from 1/);
  await writeFile(join(dir, 'emb.yaml'), 'memoryBudget: 8192\n');
  t.match(problemsOf({ config: 'emb.yaml' }, dir)[0], /^emb\.yaml:1: memoryBudget: only for --cluster kind/);
});

t.test('parseConfigFile alone, and the helpers', async (t) => {
  const { values, problems } = parseConfigFile('cluster: embedded\n', 'x.yaml');
  t.same(problems, []);
  t.equal(values.cluster?.value, 'embedded');
  t.equal(values.cluster?.where, 'x.yaml:1: cluster');
  t.same(splitList(' a, ,b '), ['a', 'b']);
  t.equal(suggest('report-dir', ['reportDir', 'kind']), 'reportDir');
  t.equal(suggest('suite', ['suites']), 'suites');
  t.equal(suggest('zzzzzz', ['kind']), undefined);
});
