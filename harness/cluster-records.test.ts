import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_ENV, orphanRecord, readRecord, recordCluster, stateDir } from './cluster-records.js';

t.test('record, read back, orphan and forget a cluster in the state dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-records-'));
  const before = process.env.DKC_STATE_DIR;
  process.env.DKC_STATE_DIR = join(dir, 'state');
  t.teardown(async () => {
    if (before === undefined) delete process.env.DKC_STATE_DIR;
    else process.env.DKC_STATE_DIR = before;
    await rm(dir, { recursive: true, force: true });
  });
  t.equal(stateDir(), join(dir, 'state'));
  t.equal(OWNER_ENV, 'DKC_CLUSTER_OWNER', 'the mark sweeps look for in /proc/<pid>/environ');
  t.equal(await readRecord('c1'), undefined, 'nothing recorded yet (the dir does not even exist)');
  const workDir = join(dir, 'dkc-embedded-x');
  await mkdir(workDir);
  const record = { name: 'c1', pid: process.pid, id: 'e1', workDir, kubeconfig: join(workDir, 'kubeconfig'), owner: 'run-1' };
  const forget = await recordCluster(record);
  t.same(await readRecord('c1'), record);
  await orphanRecord(record);
  t.same(await readRecord('c1'), { ...record, pid: 0 }, 'kept for a sweep, naming no process');
  t.same(JSON.parse(readFileSync(join(dir, 'state', 'c1.json'), 'utf8')).pid, 0);
  await forget();
  t.equal(await readRecord('c1'), undefined, 'the record is gone');
  t.notOk(existsSync(workDir), 'and so is the work dir');
});
