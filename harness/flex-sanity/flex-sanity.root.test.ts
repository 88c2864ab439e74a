// flex-sanity end to end as root: the reference datera/iscsi driver passes every emulated kubelet profile tested
// here, and each deliberately broken variant (drivers/flexvolume/broken) is caught by the named check meant for it.
// Real tgtd targets (mock Datera), the userspace iscsiadm, real mkfs and mounts; skips with a reason otherwise.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, which } from '../../lib/exec.js';
import { PROFILES, percentile, type CheckResult } from './flex-sanity.js';
import { runFlexSanity } from './runner.js';

const REFERENCE = resolve('drivers/flexvolume/datera~iscsi/iscsi');
const broken = (v: string) => resolve(`drivers/flexvolume/broken/${v}/datera~iscsi/iscsi`);
const profiles = (...vs: string[]) => vs.map((v) => PROFILES.find((p) => p.version === v)!);

/** Which named check must catch each broken variant. */
const CATCHES: Record<string, string> = {
  'reformat-always': 'flex-sanity/v1.35/fs/no-reformat',
  'never-logout': 'flex-sanity/v1.35/teardown/sessions-logged-out',
  'ignores-fstype': 'flex-sanity/v1.35/fs/fstype-honoured',
  'mounts-read-only': 'flex-sanity/v1.35/mount/readwrite-honoured',
  noisy: 'flex-sanity/v1.35/output/single-json-object',
  'keeps-acl': 'flex-sanity/v1.35/teardown/acl-removed',
};

async function skipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root (tgtd targets, loop devices, mkfs, mounts)';
  for (const f of ['dist/drivers/flexvolume/main.js', 'dist/drivers/flexvolume/broken/main.js', 'dist/drivers/iscsiadm/iscsiadm-cli.js', 'drivers/iscsiadm/bin/iscsiadm'])
    if (!existsSync(f)) return `${f} is missing (run: npm run build)`;
  for (const tool of ['tgtd', 'mkfs.xfs', 'mkfs.ext4', 'blkid', 'losetup'])
    if (!(await which(tool))) return `${tool} is not installed (run: npm run setup)`;
  return false;
}

const top = mkdtempSync(join(tmpdir(), 'dkc-flex-sanity-root-'));
const line = (r: CheckResult) => `${r.status} ${r.id}${r.message ? `: ${r.message.slice(0, 300)}` : ''}`;

t.test('flex-sanity on real iSCSI and mounts (root)', async (t) => {
  const skip = await skipReason();
  if (skip) {
    t.comment(`skipped: ${skip}`);
    t.skip(`flex-sanity.root: ${skip}`, () => undefined);
    return;
  }

  await t.test('the reference driver passes v1.5, v1.6, v1.20, v1.32 and v1.35 (every case on v1.35)', async (t) => {
    const status: string[] = [];
    const rep = await runFlexSanity({ driver: REFERENCE, profiles: profiles('v1.5', 'v1.6', 'v1.20', 'v1.32', 'v1.35'), nodesDir: join(top, 'reference'), status: (l) => status.push(l) });
    t.ok(rep.results.length > 60, `${rep.results.length} checks ran`);
    for (const v of ['v1.5', 'v1.6', 'v1.20', 'v1.32', 'v1.35']) t.ok(rep.results.some((r) => r.id === `flex-sanity/${v}/lifecycle/data-survives-reattach` && r.status === 'passed'), `${v}: data survives re-attach on the other node`);
    t.match(rep.results.find((r) => r.id === 'flex-sanity/v1.35/not-supported/fallbacks'), { status: 'skipped', message: /no kubelet fallback exercised/ });
    for (const id of ['idempotent/mountdevice', 'bad-args/attach-missing-json', 'parallel/two-volumes', 'leaks/after-parallel', 'not-supported/unknown-callout'])
      t.ok(rep.results.some((r) => r.id === `flex-sanity/v1.35/${id}`), `v1.35 runs ${id}`);
    for (const r of rep.results) {
      if (r.status === 'skipped') t.ok(r.message, `skipped with a reason: ${line(r)}`);
      else t.equal(r.status, 'passed', line(r));
    }
    for (const x of rep.timings) t.comment(`${x.profile} (emulated): ${(x.ms / 1000).toFixed(1)} s`);
    t.comment(`attach to mounted: p50 ${Math.round(percentile(rep.attachToMountedMs, 50))} ms, p99 ${Math.round(percentile(rep.attachToMountedMs, 99))} ms over ${rep.attachToMountedMs.length} set-ups`);
  });

  for (const [variant, id] of Object.entries(CATCHES))
    await t.test(`broken variant ${variant} is caught by ${id}`, async (t) => {
      const rep = await runFlexSanity({ driver: broken(variant), profiles: profiles('v1.35'), extended: 'none', nodesDir: join(top, variant) });
      const hit = rep.results.find((r) => r.id === id);
      t.equal(hit?.status, 'failed', hit ? line(hit) : `${id} did not run`);
      t.notOk(rep.results.some((r) => r.status === 'error'), 'a driver fault is a failure, not an infrastructure error');
      t.comment(`${variant} also fails: ${rep.results.filter((r) => r.status === 'failed' && r.id !== id).map((r) => r.id).join(', ') || '(nothing else)'}`);
    });

  await t.test('attach-only (valid: mounting left to kubelet) passes through the kubelet fallbacks on v1.5 and v1.35', async (t) => {
    const rep = await runFlexSanity({ driver: broken('attach-only'), profiles: profiles('v1.5', 'v1.35'), extended: 'none', nodesDir: join(top, 'attach-only') });
    for (const r of rep.results) {
      if (r.status === 'skipped') t.ok(r.message, `skipped with a reason: ${line(r)}`);
      else t.equal(r.status, 'passed', line(r));
    }
    const fb = (v: string) => rep.results.find((r) => r.id === `flex-sanity/${v}/not-supported/fallbacks`);
    t.match(fb('v1.5'), { status: 'passed', message: /mount -> mount-device, unmount -> unmount/ }, '1.5: kubelet mounts the device itself');
    t.match(fb('v1.35'), { status: 'passed', message: /mountdevice -> format-and-mount, mount -> bind-mount, unmount -> unmount, unmountdevice -> unmount/ });
  });

  await t.test('nothing left behind', async (t) => {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(top));
    t.same(mounts, [], 'no mounts under the nodes dirs');
    const loops = (await run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE'], { nothrow: true })).stdout.split('\n').filter((l) => l.includes(top));
    t.same(loops, [], 'no loop devices backed by files under them');
    const qsd = (await run(['pgrep', '-af', 'qemu-storage-daemon'], { nothrow: true })).stdout.split('\n').filter((l) => l.includes(top));
    t.same(qsd, [], 'no qemu-storage-daemon for them');
  });
});

t.teardown(async () => {
  for (const m of readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(top)).sort().reverse())
    await run(['umount', '-l', m], { nothrow: true });
  rmSync(top, { recursive: true, force: true });
});
