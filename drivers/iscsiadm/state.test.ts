import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyState, layout, loadState, pidAlive, saveState, withLock } from './state.js';
import { sleep } from '../../lib/wait.js';

const root = async (t: Test) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-iscsiadm-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

t.test('state round-trips, starts empty, and is private (it holds CHAP secrets)', async (t) => {
  const r = await root(t);
  t.same(await loadState(r), emptyState());
  const s = emptyState();
  s.nextSid = 4;
  s.discovery.push({ ip: '10.0.0.1', port: 3260, settings: { 'discovery.sendtargets.auth.password': 'pw' } });
  await saveState(r, s);
  t.same(await loadState(r), s);
  t.equal((await stat(layout(r).state)).mode & 0o777, 0o600);
  await writeFile(layout(r).state, '{not json');
  await t.rejects(loadState(r), { name: 'IscsiadmError', status: 6, message: /corrupt/ });
});

t.test('the lock serialises callers on one root', async (t) => {
  const r = await root(t);
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    [1, 2, 3, 4].map((i) =>
      withLock(r, async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(15);
        order.push(i);
        inside--;
      }),
    ),
  );
  t.equal(most, 1, 'never two holders at once');
  t.equal(order.length, 4);
  await t.rejects(stat(layout(r).lock), { code: 'ENOENT' }, 'released');
  t.equal(await withLock(r, async () => 'value'), 'value');
  await t.rejects(withLock(r, async () => Promise.reject(new Error('boom'))), /boom/);
  await t.rejects(stat(layout(r).lock), { code: 'ENOENT' }, 'released after a throw');
});

t.test('a lock left by a dead process is broken; a live holder makes others wait and time out', async (t) => {
  const r = await root(t);
  await withLock(r, async () => undefined); // creates the directory
  let dead = 4_194_000;
  while (pidAlive(dead)) dead--;
  await writeFile(layout(r).lock, `${dead}\n`);
  t.equal(await withLock(r, async () => 'got it'), 'got it');
  await writeFile(layout(r).lock, `${process.ppid}\n`);
  await t.rejects(withLock(r, async () => 'never', 200), { name: 'IscsiadmError', status: 6, message: new RegExp(`held by pid ${process.ppid}`) });
  t.equal((await readFile(layout(r).lock, 'utf8')).trim(), String(process.ppid), "a live holder's lock is left alone");
  t.notOk(pidAlive(dead));
  t.ok(pidAlive(process.pid));
});
