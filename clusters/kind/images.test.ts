// Which images kind nodes get: the dkc/driver reference from images/build, the thin installer image for a driver
// file (its wrapper run for real), and which images can never be pulled.
import t, { type Test } from 'tap';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { dkcDriverImage, neverPullable, writeDriverContext } from './images.js';
import { driverWrapper } from './manifests.js';

async function tmp(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-images-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('never-pullable images are the local/ and dkc/ ones', async (t) => {
  t.ok(neverPullable('local/dkc-provisioner:dev'));
  t.ok(neverPullable('dkc/driver:0123456789ab'));
  t.notOk(neverPullable('mariadb:10.11'));
  t.notOk(neverPullable('docker.io/calico/node:v3.26.5'));
  t.notOk(neverPullable('dkc:1'), 'a repository named dkc, no namespace');
});

t.test('the dkc/driver reference comes from images/build --print-ref driver', async (t) => {
  const dir = await tmp(t);
  await mkdir(join(dir, 'images'));
  const script = join(dir, 'images/build');
  await writeFile(script, '#!/bin/sh\necho "hashing inputs" >&2\n[ "$1 $2" = "--print-ref driver" ] && echo dkc/driver:abcdef012345\n', { mode: 0o755 });
  t.equal(await dkcDriverImage(dir), 'dkc/driver:abcdef012345');
  await writeFile(script, '#!/bin/sh\necho "driver image: /x/dist is not built (run: npm run build)" >&2\nexit 1\n', { mode: 0o755 });
  await t.rejects(dkcDriverImage(dir), { code: 'MISSING_TOOL', message: /cannot name the driver image \(.*images\/build --print-ref driver: driver image: \/x\/dist is not built \(run: npm run build\)\); build the checkout .*sudo images\/build driver/ });
  await writeFile(script, '#!/bin/sh\necho latest\n', { mode: 0o755 });
  await t.rejects(dkcDriverImage(dir), { message: /--print-ref driver: latest\)/ }, 'anything but a content-addressed dkc/driver tag is refused');
  await t.rejects(dkcDriverImage(join(dir, 'nowhere')), { code: 'MISSING_TOOL', message: /cannot name the driver image/ });
});

t.test('a driver file: a thin image in the plugin-dir layout whose wrapper sets the node credentials file', async (t) => {
  const dir = await tmp(t);
  const driver = join(dir, 'drv');
  await writeFile(driver, '#!/bin/sh\necho "{\\"status\\":\\"Success\\",\\"args\\":\\"$*\\",\\"creds\\":\\"$DATERA_CREDENTIALS_FILE\\",\\"log\\":\\"$DATERA_FLEX_LOG\\"}"\n', { mode: 0o755 });
  const ctx = join(dir, 'ctx');
  await writeDriverContext(ctx, { driver, baseImage: 'dkc/driver:0123456789ab' });
  t.equal(await readFile(join(ctx, 'Dockerfile'), 'utf8'), 'FROM dkc/driver:0123456789ab\nCOPY datera~iscsi /opt/datera/datera~iscsi\n');
  t.equal(await readFile(join(ctx, 'datera~iscsi/iscsi'), 'utf8'), driverWrapper(false));
  t.notMatch(driverWrapper(false), /DKC_DRIVER_JS/, 'a plain driver is not pointed at a Node bundle');
  const r = await run([join(ctx, 'datera~iscsi/iscsi'), 'mount', '/pods/x'], { env: { PATH: '/usr/bin:/bin' } });
  t.same(JSON.parse(r.stdout), { status: 'Success', args: 'mount /pods/x', creds: '/etc/datera/credentials.json', log: '/var/log/datera-flex.log' });
  const own = await run([join(ctx, 'datera~iscsi/iscsi'), 'init'], { env: { PATH: '/usr/bin:/bin', DATERA_CREDENTIALS_FILE: '/x' } });
  t.equal(JSON.parse(own.stdout).creds, '/x', 'a value from the kubelet environment wins');
  t.match(driverWrapper(true), /export DKC_DRIVER_JS="\$d\/\.dkc\/dist\/drivers\/flexvolume\/main\.js"\nexport PATH="\$d\/\.dkc\/runtime\/bin:\$PATH"\nexec "\$d\/\.dkc\/driver" "\$@"/);
});
