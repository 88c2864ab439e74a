import t from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRealIscsiadm, kernelHasIscsiTcp, realIscsiadmAvailable } from './real-iscsiadm.js';

t.test('only an ELF iscsiadm counts: our own shell wrapper first on PATH is skipped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-real-iscsiadm-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  const noexec = join(dir, 'noexec');
  for (const d of [ours, theirs, noexec, join(dir, 'isdir', 'iscsiadm')]) await mkdir(d, { recursive: true });
  await writeFile(join(ours, 'iscsiadm'), '#!/bin/sh\nexec node cli.js "$@"\n', { mode: 0o755 });
  await writeFile(join(theirs, 'iscsiadm'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), { mode: 0o755 });
  await writeFile(join(noexec, 'iscsiadm'), Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  await chmod(join(noexec, 'iscsiadm'), 0o644);
  const env = (...dirs: string[]) => ({ PATH: dirs.join(':') });
  t.equal(await findRealIscsiadm(env(ours, join(dir, 'isdir'), noexec, theirs)), join(theirs, 'iscsiadm'));
  t.equal(await findRealIscsiadm(env(ours, noexec, join(dir, 'missing'))), undefined);
  t.equal(await findRealIscsiadm({}), undefined);

  const loaded = join(dir, 'sys-module-iscsi_tcp');
  await mkdir(loaded);
  t.equal(await kernelHasIscsiTcp(loaded), true, 'a loaded module is enough');
  t.equal(await realIscsiadmAvailable({ env: env(ours, theirs), sysModule: loaded }), true);
  t.equal(await realIscsiadmAvailable({ env: env(ours), sysModule: loaded }), false, 'no open-iscsi binary');
  // Without the module directory, modprobe -n decides; the answer depends on the machine, but it is a boolean.
  t.type(await kernelHasIscsiTcp(join(dir, 'absent')), 'boolean');
});
