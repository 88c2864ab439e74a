import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedCluster } from '../../clusters/provider.js';
import { createLogger } from '../../lib/log.js';
import type { RunConfig } from '../plan/config.js';
import type { KindClusterOptions } from '../../clusters/kind/kind-cluster.js';
import { kindVersion } from '../../clusters/kind/versions.js';
import { PROVIDERS, afterStop, makeEmbeddedProvider, makeKindProvider, recordCluster, resolveBackend, runsProvisioner, startExisting, startKind } from './providers.js';

const config = (o: Partial<RunConfig> = {}): RunConfig => ({ cluster: 'embedded', versions: ['v1.32'], suites: ['bind-static'], driver: { kind: 'path', path: '/d/iscsi', reference: false }, backend: { kind: 'mock' }, reportDir: '/r', parallel: 1, readOnly: false, kindOverrides: {}, ...o });
const ctx = { log: createLogger(), backend: undefined };
const planned = { provider: 'embedded' as const, version: 'v1.32', label: 'v1.32.9 (emulated)', emulated: true };

function fake(o: Partial<StartedCluster> = {}): StartedCluster {
  return {
    provider: 'embedded',
    version: 'v1.32.9 (emulated)',
    kubeconfigPath: '/kc',
    backend: undefined,
    nodes: () => [{ name: 'n', address: 'a', root: '/' }],
    nodeAccess: () => [],
    nodeExec: async (node, argv) => ({ exitCode: 0, stdout: `${node} ${argv.join(' ')}`, stderr: '' }),
    collectArtifacts: async () => undefined,
    stop: async () => ['left'],
    ...o,
  };
}

async function stateDir(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-providers-'));
  const before = process.env.DKC_STATE_DIR;
  process.env.DKC_STATE_DIR = dir;
  t.teardown(async () => {
    if (before === undefined) delete process.env.DKC_STATE_DIR;
    else process.env.DKC_STATE_DIR = before;
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

t.test('backend credentials: none for the mock; env first, then DATERA_CREDENTIALS_FILE; missing ones are a config error', async (t) => {
  t.equal(resolveBackend(config()), undefined);
  const real = config({ backend: { kind: 'datera', url: 'https://dsp.example:7718' } });
  t.same(resolveBackend(real, { DATERA_USER: 'admin', DATERA_PASSWORD: 'pw' }), { kind: 'datera', url: 'https://dsp.example:7718', server: 'dsp.example:7718', user: 'admin', password: 'pw', portals: [] });
  const dir = await mkdtemp(join(tmpdir(), 'dkc-providers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'creds.json'), JSON.stringify({ server: 'x', user: 'fileuser', password: 'filepw' }));
  t.match(resolveBackend(real, { DATERA_CREDENTIALS_FILE: join(dir, 'creds.json') }), { user: 'fileuser', password: 'filepw' });
  t.match(resolveBackend(real, { DATERA_USER: 'envuser', DATERA_CREDENTIALS_FILE: join(dir, 'creds.json') }), { user: 'envuser', password: 'filepw' }, 'the environment wins, the file fills in');
  t.throws(() => resolveBackend(real, {}), { code: 'BAD_CONFIG', message: /--backend https:\/\/dsp\.example:7718 needs credentials/ });
  t.throws(() => resolveBackend(real, { DATERA_CREDENTIALS_FILE: join(dir, 'missing.json') }), { code: 'BAD_CONFIG', message: /missing\.json cannot be read as JSON \(ENOENT\)/ });
  await writeFile(join(dir, 'bad.json'), '{nope');
  t.throws(() => resolveBackend(real, { DATERA_CREDENTIALS_FILE: join(dir, 'bad.json') }), { message: /bad\.json cannot be read as JSON/ });
  await writeFile(join(dir, 'partial.json'), JSON.stringify({ user: 7, password: 'p' }));
  t.throws(() => resolveBackend(real, { DATERA_CREDENTIALS_FILE: join(dir, 'partial.json') }), { message: /needs credentials/ });
});

t.test('the embedded provider records the cluster before making it and forgets it once stopped', async (t) => {
  const dir = await stateDir(t);
  const owner = process.env.DKC_CLUSTER_OWNER;
  t.teardown(() => {
    if (owner === undefined) delete process.env.DKC_CLUSTER_OWNER;
    else process.env.DKC_CLUSTER_OWNER = owner;
  });
  let seen: { record: any; o: any } | undefined;
  const provider = makeEmbeddedProvider(async (o) => {
    const files = await readdir(dir);
    seen = { record: JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')), o };
    t.ok(existsSync(o.workDir!), 'the work dir exists during start');
    return fake({ stop: async () => (t.ok(existsSync(o.workDir!), 'the work dir is still there while stopping'), []) });
  });
  const c = await provider(planned, config(), ctx);
  t.equal(seen!.o.profile.version, 'v1.32');
  t.equal(seen!.o.nodes, 2);
  t.equal(seen!.o.backend, 'mock');
  t.equal(seen!.o.driver, '/d/iscsi');
  t.equal(seen!.o.id, seen!.record.id);
  t.same(Object.keys(seen!.record).sort(), ['id', 'kubeconfig', 'name', 'owner', 'pid', 'workDir']);
  t.equal(seen!.record.name, `run-${seen!.record.id}`);
  t.equal(seen!.record.pid, process.pid);
  t.equal(seen!.record.owner, process.env.DKC_CLUSTER_OWNER, 'processes the cluster starts carry the owner mark');
  t.match(seen!.record.workDir, /\/dkc-embedded-/, 'a work dir dkc cluster down agrees to sweep');
  t.equal(c.version, 'v1.32.9 (emulated)');
  t.same(await c.stop(), []);
  t.same(await readdir(dir), [], 'record removed');
  t.notOk(existsSync(seen!.record.workDir), 'work dir removed');

  // A real backend is passed through; a failed start forgets the record and rethrows.
  const failing = makeEmbeddedProvider(async (o) => {
    t.same(o.backend, { url: 'http://d:7717', server: 'd:7717', user: 'u', password: 'p', portals: [] });
    o.log?.('a message', { x: 1 });
    throw new Error('NOT_ROOT: needs root');
  });
  const backend = { kind: 'datera' as const, url: 'http://d:7717', server: 'd:7717', user: 'u', password: 'p', portals: [] };
  await t.rejects(failing(planned, config(), { log: createLogger(), backend }), { message: 'NOT_ROOT: needs root' });
  t.same(await readdir(dir), [], 'record removed after a failed start');
  await t.rejects(provider(planned, config({ driver: { kind: 'image', image: 'x:1' } }), ctx), { code: 'BAD_CONFIG' });
});

t.test('afterStop delegates everything and reports a failing after-step as a leftover', async (t) => {
  const c = afterStop(fake({ backend: { kind: 'mock', server: 's', url: 'u', user: 'a', password: 'p', portals: [] } }), async () => {
    throw new Error('EBUSY');
  });
  t.equal(c.provider, 'embedded');
  t.equal(c.version, 'v1.32.9 (emulated)');
  t.equal(c.kubeconfigPath, '/kc');
  t.equal(c.backend?.server, 's');
  t.same(c.nodes(), [{ name: 'n', address: 'a', root: '/' }]);
  t.same(c.nodeAccess(), []);
  t.equal((await c.nodeExec('n', ['ls'])).stdout, 'n ls');
  await c.collectArtifacts('/x');
  t.same(await c.stop(), ['left', 'cluster record: EBUSY']);
});

t.test('the kind provider: the planned version\'s row, the driver and backend passed on, a work dir removed after a clean stop', async (t) => {
  const dir = await stateDir(t);
  const seen: KindClusterOptions[] = [];
  const records: any[] = [];
  const provider = makeKindProvider(async (o) => {
    seen.push(o);
    records.push(...(await readdir(dir)).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))));
    o.log('up', { x: 1 });
    await writeFile(join(o.workDir, 'kind-cluster.json'), '{}');
    return fake({
      provider: 'kind',
      stop: async () => {
        await rm(join(o.workDir, 'kind-cluster.json'));
        return [];
      },
    });
  });
  const kindPlanned = { provider: 'kind' as const, version: 'v1.30', label: 'v1.30.13', emulated: false };
  const c = await provider(kindPlanned, config({ cluster: 'kind', driver: { kind: 'image', image: 'reg.example/d:1' }, kindOverrides: { 'v1.30': { calico: 'v3.29.2' } } }), ctx);
  const o = seen[0]!;
  t.match(o, { version: 'v1.30', driver: { image: 'reg.example/d:1' }, backend: 'mock' });
  t.equal(o.kind.nodeImage, kindVersion('1.30').nodeImage);
  t.equal(o.kind.calico, 'v3.29.2', 'overrides from the config file apply');
  t.match(o.id, /^k[0-9a-f]{8}$/);
  t.ok(existsSync(o.workDir));
  t.notOk('signal' in o, 'no signal given, none passed');
  // Recorded before the start, as dkc cluster down reads it: the kind cluster's name, the work dir with its kind record.
  t.same(records, [{ name: `dkc-${o.id}`, pid: process.pid, id: o.id, workDir: o.workDir, kubeconfig: join(o.workDir, 'kubeconfig'), owner: process.env.DKC_CLUSTER_OWNER }]);
  t.same(await c.stop(), []);
  t.notOk(existsSync(o.workDir), 'removed after a stop that left nothing');
  t.same(await readdir(dir), [], 'and the state record with it');

  // A stop with leftovers keeps the work dir (its record is what clusters/kind/sweep.ts reads); a failed start removes an empty one.
  const keep = makeKindProvider(async (o2) => {
    seen.push(o2);
    await writeFile(join(o2.workDir, 'kind-cluster.json'), '{}');
    return fake({ provider: 'kind', stop: async () => ['kind cluster dkc-x: still there'] });
  });
  const backend = { kind: 'datera' as const, url: 'http://d:7717', server: 'd:7717', user: 'u', password: 'p', portals: [] };
  const k = await keep(kindPlanned, config({ cluster: 'kind' }), { log: createLogger(), backend });
  t.same(seen[1]!.driver, { path: '/d/iscsi', reference: false });
  t.same(seen[1]!.backend, { url: 'http://d:7717', server: 'd:7717', user: 'u', password: 'p', portals: [] });
  t.same(await k.stop(), ['kind cluster dkc-x: still there']);
  t.ok(existsSync(seen[1]!.workDir), 'kept for the sweeper');
  const kept = JSON.parse(readFileSync(join(dir, `dkc-${seen[1]!.id}.json`), 'utf8'));
  t.match(kept, { name: `dkc-${seen[1]!.id}`, workDir: seen[1]!.workDir, pid: 0 }, 'the state record stays for dkc cluster down, naming no process');
  await rm(seen[1]!.workDir, { recursive: true, force: true });
  await rm(join(dir, `dkc-${seen[1]!.id}.json`));
  const failing = makeKindProvider(async (o3) => {
    seen.push(o3);
    throw new Error('MISSING_TOOL: kind');
  });
  await t.rejects(failing(kindPlanned, config({ cluster: 'kind' }), ctx), { message: 'MISSING_TOOL: kind' });
  t.notOk(existsSync(seen[2]!.workDir), 'a failed start leaves no work dir');
  t.same(await readdir(dir), [], 'nor a state record');

  // No state dir to record in: nothing is started, the work dir goes.
  process.env.DKC_STATE_DIR = join(dir, 'not-a-dir');
  await writeFile(join(dir, 'not-a-dir'), '');
  let started = 0;
  const unrecorded = makeKindProvider(async () => (started++, fake()));
  await t.rejects(unrecorded(kindPlanned, config({ cluster: 'kind' }), ctx), { code: 'EEXIST' });
  t.equal(started, 0, 'not started without a record');
  process.env.DKC_STATE_DIR = dir;
});

t.test('the kind provider passes the run\'s abort signal to the start; an abort rejects the start and removes the work dir and record', async (t) => {
  const dir = await stateDir(t);
  const ac = new AbortController();
  let workDir = '';
  const provider = makeKindProvider(async (o) => {
    workDir = o.workDir;
    t.equal(o.signal, ac.signal, 'the very signal of the run');
    await writeFile(join(o.workDir, 'kind-cluster.json'), '{}');
    // Like startKindCluster: wait for the abort, undo (the kind record goes), reject.
    await new Promise((resolve) => o.signal!.addEventListener('abort', resolve, { once: true }));
    await rm(join(o.workDir, 'kind-cluster.json'));
    o.signal!.throwIfAborted();
    return fake();
  });
  const kindPlanned = { provider: 'kind' as const, version: 'v1.32', label: 'v1.32.11', emulated: false };
  const starting = provider(kindPlanned, config({ cluster: 'kind' }), { ...ctx, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await t.rejects(starting, { name: 'AbortError' });
  t.notOk(existsSync(workDir), 'work dir removed');
  t.same(await readdir(dir), [], 'state record removed');
});

t.test('the registry: all three providers; existing wraps the kubeconfig; who runs a provisioner', async (t) => {
  t.same(Object.keys(PROVIDERS).sort(), ['embedded', 'existing', 'kind']);
  t.equal(PROVIDERS.kind, startKind);
  await t.rejects(startExisting({ provider: 'existing', version: null, label: null, emulated: false, kubeconfig: '/nonexistent/kc' }, config({ cluster: 'existing' }), ctx), { code: 'BAD_CONFIG', message: /cannot load the kubeconfig \/nonexistent\/kc/ });
  const b = { kind: 'mock' as const, server: 's', url: 'u', user: 'a', password: 'p', portals: [] };
  t.equal(runsProvisioner({ provider: 'embedded', backend: b }), true);
  t.equal(runsProvisioner({ provider: 'kind', backend: b }), true);
  t.equal(runsProvisioner({ provider: 'existing', backend: b }), false);
  t.equal(runsProvisioner({ provider: 'embedded', backend: undefined }), false);
  const dir = await stateDir(t);
  const forget = await recordCluster({ name: 'run-x', pid: 1, id: 'x', workDir: join(dir, 'w'), kubeconfig: '/k' });
  t.same(await readdir(dir), ['run-x.json']);
  await forget();
  t.same(await readdir(dir), []);
});
