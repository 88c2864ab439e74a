import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactsIn, listFiles, scrubSecrets, versionSlug } from './artifacts.js';

t.test('version slugs are directory names that keep the version readable', async (t) => {
  t.equal(versionSlug('v1.32.9 (emulated)'), 'v1.32.9-emulated');
  t.equal(versionSlug('v1.33.4'), 'v1.33.4');
  t.equal(versionSlug('v1.27.3+k3s1'), 'v1.27.3+k3s1');
  t.equal(versionSlug('v0.0 (existing cluster, not reached)'), 'v0.0-existing-cluster-not-reached');
  t.equal(versionSlug('../..'), '..-..', 'no slash survives');
  t.equal(versionSlug('///'), 'cluster');
});

t.test('artifacts are listed relative to the report dir; an empty dir is removed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-artifacts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const a = join(dir, 'artifacts', 'v1', 'bind-static');
  await mkdir(join(a, 'nodes'), { recursive: true });
  await writeFile(join(a, 'b.log'), 'b');
  await writeFile(join(a, 'nodes', 'n1.txt'), 'n');
  t.same(await artifactsIn(a, dir, 'x/'), [
    { name: 'x/b.log', path: 'artifacts/v1/bind-static/b.log' },
    { name: 'x/nodes/n1.txt', path: 'artifacts/v1/bind-static/nodes/n1.txt' },
  ]);
  const empty = join(dir, 'artifacts', 'v1', 'scale');
  await mkdir(empty);
  t.same(await artifactsIn(empty, dir), []);
  t.notOk(existsSync(empty), 'empty dir removed');
  t.same(await listFiles(join(dir, 'nope')), []);
});

t.test('secrets are scrubbed byte for byte, binary content around them intact', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-artifacts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bin = Buffer.concat([Buffer.from([0, 255, 128]), Buffer.from('s3cret-pass'), Buffer.from('é\n'), Buffer.from([1, 2])]);
  await writeFile(join(dir, 'blob'), bin);
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'log'), 'login s3cret-pass and s3cret-pass-longer token=abcd');
  await writeFile(join(dir, 'clean'), 'nothing here');
  t.equal(await scrubSecrets(dir, ['s3cret-pass', 's3cret-pass-longer', 'abcd', 'ab', '']), 2, 'two files changed; too-short secrets ignored');
  t.same(await readFile(join(dir, 'blob')), Buffer.concat([Buffer.from([0, 255, 128]), Buffer.from('***'), Buffer.from('é\n'), Buffer.from([1, 2])]));
  t.equal(await readFile(join(dir, 'sub', 'log'), 'utf8'), 'login *** and *** token=***', 'the longer secret goes whole');
  t.equal(await readFile(join(dir, 'clean'), 'utf8'), 'nothing here');
  t.equal(await scrubSecrets(dir, []), 0);
});
