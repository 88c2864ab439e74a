// The kind part of `dkc cluster down` with a fake Docker probe and a fake sweep (the real one would remove this
// machine's kind clusters), and the probe itself against fake docker scripts.
import t, { type Test } from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SweepOptions, SweepResult } from '../clusters/kind/sweep.js';
import { findDocker, kindSweeper, removedText, type DockerProbe } from './cluster-down-kind.js';

const EMPTY: SweepResult = { clusters: [], images: [], containers: [], networks: [], left: [] };

async function tmp(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-down-kind-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A kindSweeper over fakes, recording the probe calls, the sweeps asked for and the lines said. */
function fakes(probe: DockerProbe, results: (SweepResult | Error)[] = []) {
  const seen = { probes: 0, sweeps: [] as SweepOptions[], lines: [] as string[] };
  const sweeper = kindSweeper({
    docker: async () => (seen.probes++, probe),
    sweepKind: async (o) => {
      seen.sweeps.push(o);
      const r = results.shift() ?? EMPTY;
      if (r instanceof Error) throw r;
      return r;
    },
    say: (line) => void seen.lines.push(line),
  });
  return { sweeper, seen };
}

t.test('findDocker: none on PATH, a CLI whose daemon answers, one whose daemon does not, $DKC_DOCKER first', async (t) => {
  const dir = await tmp(t);
  const empty = join(dir, 'empty');
  await mkdir(empty);
  t.same(await findDocker({ PATH: empty }), { skip: 'no docker CLI on PATH (nor $DKC_DOCKER)', absent: true });

  const up = join(dir, 'up');
  const down = join(dir, 'down');
  await mkdir(up);
  await mkdir(down);
  // The probe's argv is checked by the script: anything else is a failure.
  await writeFile(join(up, 'docker'), '#!/bin/sh\n[ "$*" = "version --format {{.Server.Version}}" ] || exit 9\necho 27.5.1\n');
  await writeFile(join(down, 'docker'), '#!/bin/sh\necho "Client: 27.5.1" >&2\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n');
  await writeFile(join(down, 'silent'), '#!/bin/sh\nexit 3\n');
  for (const f of [join(up, 'docker'), join(down, 'docker'), join(down, 'silent')]) await chmod(f, 0o755);
  t.same(await findDocker({ PATH: `${empty}:${up}` }), { docker: join(up, 'docker') });
  t.same(await findDocker({ PATH: down }), {
    skip: `the Docker daemon does not answer ${join(down, 'docker')} (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)`,
    absent: false,
  });
  t.same(await findDocker({ PATH: up, DKC_DOCKER: join(down, 'silent') }), { skip: `the Docker daemon does not answer ${join(down, 'silent')} (exit 3)`, absent: false }, '$DKC_DOCKER wins over PATH');
  t.match(await findDocker({ PATH: up, DKC_DOCKER: join(dir, 'nonexistent') }), { skip: /does not answer .*nonexistent \(.*not installed or not on PATH/, absent: false }, 'a $DKC_DOCKER that cannot run');
});

t.test('removedText names what a sweep removed, plural when more than one', async (t) => {
  t.equal(removedText(EMPTY), undefined);
  t.equal(removedText({ ...EMPTY, left: ['x'] }), undefined);
  t.equal(removedText({ clusters: ['dkc-a', 'dkc-b'], images: ['dkc/driver:a'], containers: ['dkc-tgt-1'], networks: ['n1', 'n2'], left: [] }), 'kind clusters dkc-a, dkc-b; image dkc/driver:a; container dkc-tgt-1; networks n1, n2');
});

t.test('--all: every dkc kind cluster when Docker answers; leftovers returned and printed', async (t) => {
  const { sweeper, seen } = fakes({ docker: '/usr/bin/docker' }, [{ ...EMPTY, clusters: ['dkc-k1', 'dkc-k2'], images: ['dkc/provisioner:k1'], left: ['kind delete cluster dkc-k3: busy'] }]);
  t.same(await sweeper.all({}), ['kind delete cluster dkc-k3: busy']);
  t.same(seen.sweeps, [{ tools: { docker: '/usr/bin/docker' } }], 'no id, no work dir: every dkc cluster, with the docker found');
  t.same(seen.lines, ['dkc kind clusters swept: removed kind clusters dkc-k1, dkc-k2; image dkc/provisioner:k1', 'dkc kind clusters: could not remove kind delete cluster dkc-k3: busy']);

  const clean = fakes({ docker: '/d' });
  t.same(await clean.sweeper.all({}), []);
  t.same(clean.seen.lines, [], 'nothing found, not verbose: silent');
  const verbose = fakes({ docker: '/d' });
  t.same(await verbose.sweeper.all({ verbose: true }), []);
  t.same(verbose.seen.lines, ['no dkc kind clusters found']);

  const broken = fakes({ docker: '/d' }, [new Error('MISSING_TOOL: docker /d is not an executable file')]);
  t.same(await broken.sweeper.all({}), ['kind sweep: MISSING_TOOL: docker /d is not an executable file'], 'a sweep that throws is a leftover, not a crash');
});

t.test('--all without Docker: nothing swept, nothing failed, a note only when verbose', async (t) => {
  for (const probe of [
    { skip: 'no docker CLI on PATH (nor $DKC_DOCKER)', absent: true },
    { skip: 'the Docker daemon does not answer /usr/local/bin/docker (Cannot connect)', absent: false },
  ]) {
    const quiet = fakes(probe);
    t.same(await quiet.sweeper.all({}), []);
    t.same(quiet.seen.sweeps, [], 'no sweep');
    t.same(quiet.seen.lines, [], 'silent');
    const loud = fakes(probe);
    t.same(await loud.sweeper.all({ verbose: true }), []);
    t.same(loud.seen.lines, [`dkc kind clusters not swept: ${probe.skip}`]);
  }
});

t.test("a recorded kind work dir is swept by its id and record; what it cannot remove is returned; the probe runs once", async (t) => {
  const dir = await tmp(t);
  const workDir = join(dir, 'dkc-kind-abc');
  await mkdir(workDir);
  const { sweeper, seen } = fakes({ docker: '/usr/bin/docker' }, [
    { ...EMPTY, clusters: ['dkc-k0a1b2c3d'], containers: ['dkc-tgt-cafe'], networks: ['dkc-tgt-cafe-1'] },
    { ...EMPTY, left: ['remove network dkc-tgt-cafe-2: in use'] },
  ]);
  t.notOk(sweeper.isKind(workDir), 'no kind record: not a kind work dir');
  await writeFile(join(workDir, 'kind-cluster.json'), '{}');
  t.ok(sweeper.isKind(workDir));
  t.same(await sweeper.record('dkc-k0a1b2c3d', 'k0a1b2c3d', workDir), []);
  t.same(seen.sweeps[0], { id: 'k0a1b2c3d', workDir, tools: { docker: '/usr/bin/docker' } }, 'by id: a damaged record cannot widen the sweep');
  t.same(seen.lines, ['cluster dkc-k0a1b2c3d: removed kind cluster dkc-k0a1b2c3d; container dkc-tgt-cafe; network dkc-tgt-cafe-1']);
  t.same(await sweeper.record('dkc-k0a1b2c3d', 'k0a1b2c3d', workDir), ['remove network dkc-tgt-cafe-2: in use']);
  await sweeper.all({});
  t.equal(seen.probes, 1, 'Docker is asked once per cluster down');

  t.match(await sweeper.record('x', '', workDir), [/the record has no valid cluster id \(''\); remove it by hand/]);
  t.equal(seen.sweeps.length, 3, 'no sweep without an id');

  const none = fakes({ skip: 'no docker CLI on PATH (nor $DKC_DOCKER)', absent: true });
  t.same(await none.sweeper.record('dkc-k1', 'k1', workDir), [`kind cluster recorded in ${workDir}: no docker CLI on PATH (nor $DKC_DOCKER); its containers, networks and images may remain (run dkc cluster down again where Docker answers)`]);
  t.same(none.seen.sweeps, []);
  const throws = fakes({ docker: '/d' }, [new Error('EACCES')]);
  t.same(await throws.sweeper.record('dkc-k1', 'k1', workDir), [`kind sweep of ${workDir}: EACCES`]);
});

t.test('the defaults: stderr for status lines, findDocker for the probe', async (t) => {
  const dir = await tmp(t);
  const errs: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void errs.push(a.join(' '));
  const path = process.env.PATH;
  process.env.PATH = dir;
  t.teardown(() => {
    console.error = orig;
    process.env.PATH = path;
  });
  const docker = process.env.DKC_DOCKER;
  delete process.env.DKC_DOCKER;
  t.teardown(() => {
    if (docker !== undefined) process.env.DKC_DOCKER = docker;
  });
  let swept = 0;
  t.same(await kindSweeper({ sweepKind: async () => (swept++, EMPTY) }).all({ verbose: true }), []);
  t.equal(swept, 0);
  t.same(errs, ['dkc kind clusters not swept: no docker CLI on PATH (nor $DKC_DOCKER)']);
});
