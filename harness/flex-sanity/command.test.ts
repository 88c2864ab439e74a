// dkc flex-sanity's flag checks: everything wrong with the flags is a BAD_INPUT (exit 2) before anything starts.
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flexSanityCommand, validateFlags } from './command.js';

const dir = mkdtempSync(join(tmpdir(), 'dkc-flex-cmd-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const exe = join(dir, 'iscsi');
writeFileSync(exe, '#!/bin/sh\n');
chmodSync(exe, 0o755);
const plain = join(dir, 'plain');
writeFileSync(plain, '');
chmodSync(plain, 0o644);

t.test('driver, versions, backend', async (t) => {
  const ok = await validateFlags({ driver: exe }, {});
  t.equal(ok.driver, exe);
  t.equal(ok.profiles.length, 7, 'all profiles by default');
  t.equal(ok.backend, undefined, 'the mock by default');
  await t.rejects(validateFlags({ driver: join(dir, 'nope') }, {}), { code: 'BAD_INPUT', message: /--driver .*nope: no such file/ });
  await t.rejects(validateFlags({ driver: dir }, {}), { code: 'BAD_INPUT', message: /no such file/ }, 'a directory is not a driver');
  if (process.getuid?.() !== 0) await t.rejects(validateFlags({ driver: plain }, {}), { code: 'BAD_INPUT', message: /is not executable/ });
  await t.rejects(validateFlags({ driver: exe, k8s: 'v1.33' }, {}), { code: 'BAD_INPUT', message: /--k8s: unknown Kubernetes version 'v1.33'; known profiles: v1.5,/ });
  t.same((await validateFlags({ driver: exe, k8s: 'v1.32,v1.35' }, {})).profiles.map((p) => p.version), ['v1.32', 'v1.35']);
  await t.rejects(validateFlags({ driver: exe, backend: 'http://dsp:7717' }, {}), { code: 'BAD_INPUT', message: /--backend needs credentials/ });
  await t.rejects(validateFlags({ driver: exe, backend: 'not a url' }, {}), { code: 'BAD_INPUT', message: /not a Datera API address/ });
  await t.rejects(validateFlags({ driver: exe, user: 'u' }, {}), { code: 'BAD_INPUT', message: /only go with --backend/ });
  const b = await validateFlags({ driver: exe, backend: 'dsp:7717' }, { DATERA_USER: 'u', DATERA_PASSWORD: 'p' });
  t.same(b.backend, { url: 'dsp:7717', user: 'u', password: 'p' }, 'credentials from the environment');
  const c = await validateFlags({ driver: exe, backend: 'https://dsp:7718/', user: 'v', password: 'q' }, { DATERA_USER: 'u', DATERA_PASSWORD: 'p' });
  t.same(c.backend, { url: 'https://dsp:7718/', user: 'v', password: 'q' }, 'flags win');
});

t.test('the command renders TAP, writes JUnit, and exits by the results', async (t) => {
  let out = '';
  let err = '';
  let seen: unknown;
  const junit = join(dir, 'reports/junit.xml');
  const code = await flexSanityCommand(
    { driver: exe, k8s: 'v1.35', junit },
    {
      run: async (o) => {
        seen = o;
        o.status?.('working');
        return {
          results: [
            { id: 'flex-sanity/v1.35/a', suite: 'v1.35 (emulated)', status: 'passed', durationMs: 1 },
            { id: 'flex-sanity/v1.35/b', suite: 'v1.35 (emulated)', status: 'failed', durationMs: 1, message: 'x < y' },
          ],
          timings: [{ profile: 'v1.35', ms: 1500 }],
          attachToMountedMs: [100, 200, 300],
        };
      },
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
    },
  );
  t.equal(code, 1, 'a failed check: exit 1');
  t.match(seen, { driver: exe, profiles: [{ version: 'v1.35' }] });
  t.match(out, /^TAP version 14\n1..2\nok 1 - flex-sanity\/v1.35\/a/);
  t.match(readFileSync(junit, 'utf8'), /<failure message="x &lt; y"/);
  t.match(err, /flex-sanity: working\n/);
  t.match(err, /v1.35 \(emulated\): 1.5 s/);
  t.match(err, /attach to mounted: p50 200 ms, p99 300 ms over 3 set-ups/);
  t.match(err, /1 passed, 1 failed, 0 error, 0 skipped/);
  const quiet = await flexSanityCommand({ driver: exe, k8s: 'v1.5', backend: 'dsp:7717', user: 'u', password: 'secret-pw' }, {
    run: async (o) => {
      t.same(o.backend, { url: 'dsp:7717', user: 'u', password: 'secret-pw' });
      return { results: [{ id: 'i', suite: 's', status: 'skipped', durationMs: 0, message: 'why' }], timings: [], attachToMountedMs: [] };
    },
    stdout: () => undefined,
    stderr: (s) => (err += s),
  });
  t.equal(quiet, 0, 'skips only: exit 0');
  t.notMatch(err, /secret-pw/, 'the password is never printed');
});

t.test('SIGINT during the run aborts it through the signal, and the handlers are removed afterwards', async (t) => {
  const before = process.listenerCount('SIGINT');
  let err = '';
  let aborted: boolean | undefined;
  const code = await flexSanityCommand(
    { driver: exe, k8s: 'v1.35' },
    {
      run: async (o) => {
        process.emit('SIGINT', 'SIGINT');
        process.emit('SIGINT', 'SIGINT');
        aborted = o.signal?.aborted;
        return { results: [{ id: 'flex-sanity/interrupted', suite: 'flex-sanity', status: 'error', durationMs: 0, message: 'interrupted' }], timings: [], attachToMountedMs: [] };
      },
      stdout: () => undefined,
      stderr: (s) => (err += s),
    },
  );
  t.equal(aborted, true);
  t.equal(code, 1, 'an interrupted run is not a pass');
  t.match(err, /SIGINT: finishing the current case, then cleaning up/);
  t.match(err, /SIGINT again: still cleaning up/);
  t.equal(process.listenerCount('SIGINT'), before);
});
