// Finding kind per release (exact, newer with a warning, older refused with the install hint), kubectl and docker,
// and the command wrapper's log.
import t, { type Test } from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KindTools, compareReleases, findOnPath, kindCandidates, kindInstallHint, parseKindVersion, resolveKind, resolveTool } from './tools.js';
import { fakeWorld, type FakeWorld } from './testing.js';

async function world(t: Test, releases: string[]): Promise<FakeWorld> {
  const w = await fakeWorld({ kindReleases: releases });
  t.teardown(() => w.cleanup());
  return w;
}

t.test('kind version output and release order', async (t) => {
  t.equal(parseKindVersion('kind v0.31.0 go1.24.2 linux/amd64\n'), 'v0.31.0');
  t.equal(parseKindVersion('kind v0.17.0 go1.19.2 linux/amd64'), 'v0.17.0');
  t.equal(parseKindVersion('kind v0.24.0-alpha.1+f3bb3b5a linux/amd64'), 'v0.24.0', 'a development build counts as its release');
  t.equal(parseKindVersion('Kubernetes v1.30.0'), undefined);
  t.ok(compareReleases('v0.9.0', 'v0.17.0') < 0, 'numeric, not text');
  t.ok(compareReleases('v0.33.0', 'v0.32.9') > 0);
  t.equal(compareReleases('v0.31.0', 'v0.31.0'), 0);
  t.ok(compareReleases('junk', 'v0.1.0') < 0);
});

t.test('the install hint: go install and the release download, for this platform', async (t) => {
  const h = kindInstallHint('v0.17.0', 'linux', 'x64');
  t.match(h, 'go install sigs.k8s.io/kind@v0.17.0');
  t.match(h, 'https://kind.sigs.k8s.io/dl/v0.17.0/kind-linux-amd64');
  t.match(h, '$DKC_KIND_DIR/kind-v0.17.0');
  t.match(kindInstallHint('v0.33.0', 'darwin', 'arm64'), 'kind-darwin-arm64');
});

t.test('candidates: the option, DKC_KIND_DIR/kind-<release>, DKC_KIND, PATH, other releases; only executables', async (t) => {
  const w = await world(t, ['v0.17.0', 'v0.29.0', 'v0.31.0']);
  const onPath = join(w.bin, 'kind');
  await w.writeTool(onPath, 'kind');
  const env = { ...w.env, DKC_KIND: join(w.kindDir, 'kind-v0.31.0') };
  await writeFile(join(w.kindDir, 'kind-v0.99.0'), 'not executable', { mode: 0o644 });
  await writeFile(join(w.kindDir, 'README'), 'x');
  t.same(kindCandidates('v0.29.0', env, '/nonexistent/kind'), [join(w.kindDir, 'kind-v0.29.0'), join(w.kindDir, 'kind-v0.31.0'), onPath, join(w.kindDir, 'kind-v0.17.0')]);
  t.same(kindCandidates('v0.29.0', { PATH: '' }), []);
  t.same(kindCandidates('v0.29.0', { PATH: '', DKC_KIND_DIR: join(w.dir, 'missing') }), [], 'a missing DKC_KIND_DIR is just empty');
  t.equal(findOnPath('kind', { PATH: `::${w.bin}` }), onPath);
  t.equal(findOnPath('kind', {}), undefined);
});

t.test('resolveKind: the exact release first; else the closest newer one with a warning; older ones refused', async (t) => {
  const w = await world(t, ['v0.17.0', 'v0.31.0', 'v0.33.0']);
  t.same(await resolveKind('v0.31.0', { env: w.env, forVersion: 'v1.32' }), { path: join(w.kindDir, 'kind-v0.31.0'), release: 'v0.31.0', exact: true });
  const warnings: string[] = [];
  const r = await resolveKind('v0.29.0', { env: w.env, forVersion: 'v1.30', warn: (m) => warnings.push(m) });
  t.same(r, { path: join(w.kindDir, 'kind-v0.31.0'), release: 'v0.31.0', exact: false }, 'the closest newer, not the newest');
  t.match(warnings[0], /kind v0\.29\.0 built the v1\.30 node image but only v0\.31\.0 .* was found; node images are only guaranteed with their own kind release: install it with `go install sigs\.k8s\.io\/kind@v0\.29\.0`/);
  await t.rejects(resolveKind('v0.34.0', { env: w.env, forVersion: 'v1.38' }), { code: 'MISSING_TOOL', message: /kind v0\.34\.0 or newer is needed for Kubernetes v1\.38; found .*\(v0\.17\.0\), .*\(v0\.31\.0\), .*\(v0\.33\.0\), too old; install it with `go install sigs\.k8s\.io\/kind@v0\.34\.0`/ });

  // A `kind` on PATH that reports its release is used like any other.
  const path = await world(t, []);
  await path.writeTool(join(path.bin, 'kind'), 'kind');
  path.knobs.kindVersion = 'v0.25.0';
  t.same(await resolveKind('v0.25.0', { env: path.env, forVersion: 'v1.28' }), { path: join(path.bin, 'kind'), release: 'v0.25.0', exact: true });
  // Something called kind that is not kind.
  await writeFile(join(path.bin, 'kind'), '#!/bin/sh\necho "hello"\n', { mode: 0o755 });
  await t.rejects(resolveKind('v0.25.0', { env: path.env, forVersion: 'v1.28' }), { message: /found .*bin\/kind \(not a kind binary\), too old/ });
  await writeFile(join(path.bin, 'kind'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
  await t.rejects(resolveKind('v0.25.0', { env: path.env, forVersion: 'v1.28' }), { message: /not a kind binary/ });
});

t.test('kubectl and docker: the option, then DKC_KUBECTL / DKC_DOCKER, then PATH; clear errors', async (t) => {
  const w = await world(t, []);
  t.equal(resolveTool('docker', w.env), join(w.bin, 'docker'));
  t.equal(resolveTool('kubectl', { ...w.env, DKC_KUBECTL: join(w.bin, 'docker') }), join(w.bin, 'docker'));
  t.equal(resolveTool('kubectl', w.env, join(w.bin, 'kubectl')), join(w.bin, 'kubectl'));
  t.throws(() => resolveTool('kubectl', { PATH: '/nonexistent' }), { code: 'MISSING_TOOL', message: /kubectl is not on PATH; install kubectl .* or set \$DKC_KUBECTL/ });
  t.throws(() => resolveTool('docker', { PATH: '/nonexistent' }), { message: /docker is not on PATH; install Docker Engine .* or set \$DKC_DOCKER/ });
  t.throws(() => resolveTool('docker', { DKC_DOCKER: '/nonexistent/docker' }), { message: /docker \/nonexistent\/docker \(from \$DKC_DOCKER\) is not an executable file/ });
  t.throws(() => resolveTool('docker', {}, '/nonexistent/docker'), { message: /\(from the options\)/ });
});

t.test('KindTools: kubectl always with the cluster kubeconfig; every command logged, secrets masked', async (t) => {
  const w = await world(t, ['v0.31.0']);
  await mkdir(join(w.dir, 'wd'));
  const kubeconfig = join(w.dir, 'wd', 'kubeconfig');
  const log = join(w.dir, 'wd', 'commands.jsonl');
  const tools = new KindTools({ kind: join(w.kindDir, 'kind-v0.31.0'), kubectl: join(w.bin, 'kubectl'), docker: join(w.bin, 'docker'), kubeconfig, env: w.env, commandLog: log, secrets: () => ['hunter2'] });
  t.equal(tools.kindPath, join(w.kindDir, 'kind-v0.31.0'));
  t.equal(tools.dockerPath, join(w.bin, 'docker'));
  await tools.kind(['version']);
  await t.rejects(tools.kubectl(['get', 'nodes']), { code: 'COMMAND_FAILED', message: /connection to the server .* was refused/ }, 'no cluster behind the kubeconfig yet');
  t.same(w.calls.at(-1)!.raw.slice(0, 2), ['--kubeconfig', kubeconfig]);
  await tools.docker(['exec', 'nowhere', 'echo', 'hunter2'], { nothrow: true });
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 3);
  t.match(lines[0], { argv: `${join(w.kindDir, 'kind-v0.31.0')} version`, exitCode: 0 });
  t.match(lines[1], { exitCode: 1, error: /refused/ });
  t.match(lines[2], { argv: /exec nowhere echo \*\*\*$/, exitCode: 1 });
  t.notMatch(await readFile(log, 'utf8'), 'hunter2');
  const quiet = new KindTools({ kind: '/nonexistent/kind', kubectl: 'k', docker: 'd', kubeconfig, env: w.env });
  await t.rejects(quiet.kind(['version']), { code: 'MISSING_TOOL' }, 'no log file: fine, and a missing binary is MISSING_TOOL');
});
