// The three images, built offline by images/build (or reused when an image with the same content hash exists), each
// doing its job: a tgt container serves a LUN that this machine's userspace initiator (drivers/iscsiadm:
// qemu-storage-daemon over libiscsi, a FUSE file, a loop device) formats, mounts and writes through; the MariaDB
// container answers SELECT 1; the driver image answers FlexVolume init. Needs Docker and root (debootstrap, loop
// devices, mounts); skips with the reason otherwise. Every container carries the label dkc.test=1 or, for the tgt
// host, the mock's own labels (mocks/tgt sweeps those), and is removed in teardown even when a check fails.
import t, { type Test } from 'tap';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as iscsiadm } from '../drivers/iscsiadm/iscsiadm.js';
import { layout } from '../drivers/iscsiadm/state.js';
import { run, which } from '../lib/exec.js';
import { waitFor } from '../lib/wait.js';
import { ContainerTargetHost, type StartedContainerTargetHost } from '../mocks/tgt/container-target-host.js';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const BUILD = join(REPO, 'images', 'build');
const MiB = 2 ** 20;
const INITIATOR = 'iqn.1993-08.org.debian:01:dkc-images-test';
// Builds share one lock; with a cold cache the base rootfs alone takes minutes, so tap's per-file default is too short.
t.setTimeout(40 * 60_000);

async function whyNot(): Promise<string | undefined> {
  const info = await run(['docker', 'info'], { nothrow: true, timeoutMs: 20_000 }).catch(() => undefined);
  if (info?.exitCode !== 0) return `docker is unavailable (docker info failed: ${info?.stderr.trim().split('\n').pop() ?? 'docker is not installed'})`;
  if (process.getuid?.() !== 0) return 'needs root: the offline image build (debootstrap, chroot), loop devices and mounts';
  for (const tool of ['debootstrap', 'qemu-storage-daemon', 'iscsi-ls', 'iscsi-inq', 'losetup', 'mkfs.ext4', 'fusermount3', 'unshare'])
    if (!(await which(tool))) return `${tool} is not installed (npm run setup)`;
  for (const dev of ['/dev/fuse', '/dev/loop-control'])
    if (!(await access(dev).then(() => true, () => false))) return `${dev} is missing`;
  return undefined;
}

const skip = await whyNot();
if (skip) t.comment(`skipping the image tests: ${skip}`);

/** images/build NAME: the content-addressed reference it built or found (its last stdout line). */
async function build(t: Test, name: string): Promise<string | undefined> {
  const started = performance.now();
  const r = await run(['bash', BUILD, name], { nothrow: true, timeoutMs: 30 * 60_000 });
  const ref = r.stdout.trim().split('\n').pop() ?? '';
  if (r.exitCode !== 0 || !/^dkc\/[a-z0-9-]+:[0-9a-f]{12}$/.test(ref)) {
    t.fail(`images/build ${name} exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
    return undefined;
  }
  t.comment(`${ref}: ${r.stderr.trim().split('\n').pop()} (${((performance.now() - started) / 1000).toFixed(1)} s in this test)`);
  const label = await run(['docker', 'image', 'inspect', '-f', '{{index .Config.Labels "dkc.content-hash"}}', ref]);
  t.equal(label.stdout.trim().slice(0, 12), ref.split(':')[1], `${ref} carries the content hash its tag names`);
  return ref;
}

/** `docker run` with a name and the test label, so teardown finds it whatever happened. */
function containerName(what: string): string {
  return `dkc-test-${what}-${randomBytes(4).toString('hex')}`;
}
async function removeContainer(name: string): Promise<void> {
  await run(['docker', 'rm', '-f', '-v', name], { nothrow: true });
}

t.test('tgt image: a container serves a LUN that the userspace initiator formats, mounts and writes through', { skip: skip ?? false }, async (t) => {
  const ref = await build(t, 'tgt');
  if (!ref) return;
  const dir = await mkdtemp(join(tmpdir(), 'dkc-images-tgt-'));
  const root = join(dir, 'node');
  const mnt = join(dir, 'mnt');
  let host: StartedContainerTargetHost | undefined;
  let mounted = false;
  const ia = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await iscsiadm(argv, { ...process.env, DKC_ISCSI_ROOT: root }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };
  t.teardown(async () => {
    if (mounted) await run(['umount', mnt], { nothrow: true });
    await ia('-m', 'session', '-u').catch(() => undefined);
    await host?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  await mkdir(mnt);
  await mkdir(join(root, 'etc/iscsi'), { recursive: true });
  await writeFile(layout(root).initiatorName, `InitiatorName=${INITIATOR}\n`);
  const backing = join(dataDir, 'lun-1.img');
  await writeFile(backing, '');
  await truncate(backing, 64 * MiB);

  host = await new ContainerTargetHost({ runDir: join(dir, 'run'), dataDirs: [dataDir], image: ref }).start();
  const image = await run(['docker', 'inspect', '-f', '{{.Config.Image}}', host.containerName]);
  t.equal(image.stdout.trim(), ref, 'the target host runs the image images/build made');

  const iqn = `iqn.2013-05.com.daterainc:tc:01:sn:${randomBytes(8).toString('hex')}`;
  const serial = randomUUID();
  await host.createTarget({ iqn, luns: [{ lun: 1, backingFile: backing, serial }], initiators: [INITIATOR] });
  const portal = host.portals[0]!;

  t.same(await ia('-m', 'discovery', '-t', 'sendtargets', '-p', portal), { code: 0, out: [`${portal},1 ${iqn}`], err: [] }, 'SendTargets finds the target');
  const login = await ia('-m', 'node', '-T', iqn, '-p', portal, '--login');
  t.equal(login.code, 0, `login: ${[...login.out, ...login.err].join(' | ')}`);
  const loop = await readlink(join(layout(root).byPath, `ip-${portal}-iscsi-${iqn}-lun-1`));
  t.match(loop, /^\/dev\/loop\d+$/, 'the LUN is a loop device');
  t.equal(await readlink(join(layout(root).byUuid, serial)), loop, 'by-uuid names the LUN by the serial the target reports');

  const marker = `written through iSCSI to the tgt container ${randomUUID()}`;
  await run(['mkfs.ext4', '-q', '-F', loop]);
  await run(['mount', loop, mnt]);
  mounted = true;
  await writeFile(join(mnt, 'hello.txt'), marker);
  await run(['umount', mnt]);
  mounted = false;

  // A fresh session: what reads back now came from the target, not from this session's caches.
  t.equal((await ia('-m', 'node', '-T', iqn, '-p', portal, '--logout')).code, 0, 'logout');
  t.equal((await ia('-m', 'node', '-T', iqn, '-p', portal, '--login')).code, 0, 'login again');
  const loop2 = await readlink(join(layout(root).byPath, `ip-${portal}-iscsi-${iqn}-lun-1`));
  await run(['mount', '-o', 'ro', loop2, mnt]);
  mounted = true;
  t.equal(await readFile(join(mnt, 'hello.txt'), 'utf8'), marker, 'the file reads back after logout, login and mount');
  await run(['umount', mnt]);
  mounted = false;
  t.equal((await ia('-m', 'session', '-u')).code, 0, 'logout of every session');

  const onDisk = await readFile(backing);
  t.ok(onDisk.includes(Buffer.from(marker)), "the bytes are in the target's backing file on this machine");
  t.notOk(onDisk.includes(Buffer.from(`${marker}!`)), 'a string never written is not found (the check can fail)');

  await host.stop();
  const left = await run(['docker', 'ps', '-a', '-q', '--filter', `name=${host.containerName}`]);
  t.equal(left.stdout.trim(), '', 'the target container is gone after stop');
  host = undefined;
});

t.test('mariadb image: mysqld starts and answers SELECT 1', { skip: skip ?? false }, async (t) => {
  const ref = await build(t, 'mariadb');
  if (!ref) return;
  const name = containerName('mariadb');
  t.teardown(() => removeContainer(name));
  const password = randomBytes(12).toString('hex');
  await run(['docker', 'run', '-d', '--name', name, '--label', 'dkc.test=1', '-e', `MARIADB_ROOT_PASSWORD=${password}`, ref, 'mysqld'], { secrets: [password] });
  // Over TCP: the entrypoint's temporary initialisation server listens on the socket only.
  const sql = (pw: string, query: string) =>
    run(['docker', 'exec', name, 'mariadb', '--protocol=tcp', '-h127.0.0.1', '-uroot', `-p${pw}`, '-N', '-B', '-e', query], { nothrow: true, secrets: [pw] });
  const one = await waitFor(`MariaDB in ${name} to answer SELECT 1`, async (saw) => {
    const r = await sql(password, 'SELECT 1');
    saw(r.stderr.trim() || r.stdout.trim());
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }, { timeoutMs: 180_000, intervalMs: 1_000 });
  t.equal(one, '1', 'SELECT 1 answers 1');
  t.match((await sql(password, 'SELECT VERSION()')).stdout, /^10\.11\.\d+-MariaDB/, "Debian 12's MariaDB 10.11");
  const wrong = await sql(`${password}x`, 'SELECT 1');
  t.not(wrong.exitCode, 0, 'a wrong password is refused (the check can fail)');
});

const noDist = (await access(join(REPO, 'dist/drivers/flexvolume/main.js')).then(() => true, () => false)) ? undefined : 'dist/ is not built (npm run build)';
if (!skip && noDist) t.comment(`skipping the driver image: ${noDist}`);

t.test('driver image: FlexVolume init, the node tools, Node 20 and the provisioner', { skip: skip ?? noDist ?? false }, async (t) => {
  const ref = await build(t, 'driver');
  if (!ref) return;
  const names: string[] = [];
  t.teardown(async () => {
    for (const n of names) await removeContainer(n);
  });
  const inImage = (...argv: string[]) => {
    const name = containerName('driver');
    names.push(name);
    return run(['docker', 'run', '--rm', '--name', name, '--label', 'dkc.test=1', ref, ...argv], { nothrow: true, timeoutMs: 60_000 });
  };

  const init = await inImage('node', 'dist/drivers/flexvolume/main.js', 'init');
  t.equal(init.exitCode, 0, init.stderr);
  const reply = JSON.parse(init.stdout) as { status: string; capabilities: Record<string, boolean> };
  t.equal(reply.status, 'Success');
  t.equal(reply.capabilities.attach, true, 'datera/iscsi attaches');

  const wrapper = await inImage('drivers/flexvolume/datera~iscsi/iscsi', 'init');
  t.same(JSON.parse(wrapper.stdout), reply, 'the plugin-dir executable answers the same');

  const tools = await inImage('sh', '-c', 'for c in iscsiadm mkfs.xfs mkfs.ext4 mount umount blkid; do command -v "$c" || echo "missing $c"; done');
  t.notMatch(tools.stdout, /missing/, `the node tools the driver calls: ${tools.stdout.trim().split('\n').join(', ')}`);

  const version = await inImage('node', '--version');
  t.ok(Number(/^v(\d+)\./.exec(version.stdout.trim())?.[1]) >= 20, `node ${version.stdout.trim()} (package.json engines: >=20)`);

  // --help imports everything main.js imports (ES modules resolve before they run): node_modules holds the closure.
  const prov = await inImage('node', 'dist/drivers/provisioner/main.js', '--help');
  t.equal(prov.exitCode, 0, prov.stderr);
  t.match(prov.stdout, /--resync/);
  const iscsi = await inImage('drivers/iscsiadm/bin/iscsiadm', '--version');
  t.match(iscsi.stdout, /^iscsiadm version/, 'the userspace iscsiadm runs');

  const bad = await inImage('node', 'dist/drivers/flexvolume/no-such-entry.js');
  t.not(bad.exitCode, 0, 'a missing entry point fails (the checks above can fail)');
});
