// The userspace iscsiadm against real tgt targets behind the mock Datera API: discovery, login to a loop device on
// a qemu-storage-daemon FUSE export, data and a filesystem through it, multipath links, rescan after a resize, CHAP,
// ACL refusal, two nodes in parallel, a killed daemon, and logout leaving nothing behind. Needs root.
import t from 'tap';
import { access, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateraClient } from '../datera/client.js';
import { run, which } from '../../lib/exec.js';
import { verifyPattern } from '../../lib/iscsi-probe.js';
import { MockDatera, type StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import { main } from './iscsiadm.js';
import { layout, loadState, pidAlive } from './state.js';

const GiB = 2 ** 30;
const INIT_A = 'iqn.1993-08.org.debian:01:dkc-iscsiadm-a';
const INIT_B = 'iqn.1993-08.org.debian:01:dkc-iscsiadm-b';
const OUTSIDER = 'iqn.1993-08.org.debian:01:dkc-iscsiadm-outsider';

async function missing(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root: tgtd, FUSE mounts and loop devices';
  for (const tool of ['tgtd', 'qemu-storage-daemon', 'iscsi-ls', 'iscsi-inq', 'iscsi-readcapacity16', 'qemu-io', 'losetup', 'fusermount3', 'mkfs.ext4', 'blockdev'])
    if (!(await which(tool))) return `${tool} is not installed (npm run setup)`;
  if (!(await access('/dev/fuse').then(() => true, () => false))) return '/dev/fuse is missing';
  if (!(await access('/dev/loop-control').then(() => true, () => false))) return '/dev/loop-control is missing (no loop devices)';
  return undefined;
}
const skip = await missing();
if (skip) t.comment(`skipping the userspace iscsiadm against real targets: ${skip}`);

interface Vol {
  iqn: string;
  uuid: string;
  portals: [string, string];
  path: string;
}

t.test('userspace iscsiadm against real targets', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const roots: string[] = [];
  const mock: StartedMockDatera = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'process', users: { admin: 'pw' } }).start();
  t.teardown(async () => {
    // Whatever a failed assertion left logged in goes first, through the tool itself.
    for (const r of roots) await main(['-m', 'session', '-u'], { DKC_ISCSI_ROOT: r }, { out: () => {}, err: () => {} }).catch(() => undefined);
    await mock.stop();
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  const c = new DateraClient({ server: mock.server, user: 'admin', password: 'pw' });
  for (const [id, name] of [
    [INIT_A, 'node-a'],
    [INIT_B, 'node-b'],
    [OUTSIDER, 'outsider'],
  ])
    await c.post('/initiators', { id, name, force: true });
  const volume = async (name: string, initiator: string): Promise<Vol> => {
    const r = await c.post<{ storage_instances: { path: string; access: { iqn: string; ips: string[] }; volumes: { uuid: string; path: string }[] }[] }>('/app_instances', {
      name,
      storage_instances: [{ name: 'storage-1', acl_policy: { initiators: [{ path: `/initiators/${initiator}` }] }, volumes: [{ name: 'volume-1', size: 1 }] }],
    });
    const si = r.data.storage_instances[0]!;
    return { iqn: si.access.iqn, uuid: si.volumes[0]!.uuid, portals: si.access.ips.map((ip) => `${ip}:3260`) as [string, string], path: si.path };
  };
  const volA = await volume('iscsiadm-a', INIT_A);
  const volB = await volume('iscsiadm-b', INIT_B);

  const node = async (initiator: string) => {
    const root = await mkdtemp(join(tmpdir(), 'dkc-iscsiadm-root-'));
    roots.push(root);
    await mkdir(join(root, 'etc/iscsi'), { recursive: true });
    await writeFile(layout(root).initiatorName, `InitiatorName=${initiator}\n`);
    const ia = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { ...process.env, DKC_ISCSI_ROOT: root }, { out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out, err };
    };
    return { root, ia };
  };
  const a = await node(INIT_A);
  const byPath = (root: string, v: Vol, portal: string) => join(layout(root).byPath, `ip-${portal}-iscsi-${v.iqn}-lun-1`);
  const byUuid = (root: string, v: Vol) => join(layout(root).byUuid, v.uuid);
  const size = async (dev: string) => Number((await run(['blockdev', '--getsize64', dev])).stdout.trim());
  const writeThrough = async (dev: string, byte: number, offset: number, length: number) => {
    const fh = await open(dev, 'r+');
    try {
      await fh.write(Buffer.alloc(length, byte), 0, length, offset);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  /** What the root's sessions made that still exists: processes, loop devices, FUSE mounts, links, files. */
  const leftovers = async (root: string) => {
    const left: string[] = [];
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.startsWith('qemu-storage-daemon') && cmd.includes(root)) left.push(`qemu-storage-daemon pid ${pid}`);
    }
    for (const line of (await run(['losetup', '-a'])).stdout.split('\n')) if (line.includes(root)) left.push(`loop ${line}`);
    for (const line of (await readFile('/proc/mounts', 'utf8')).split('\n')) if (line.includes(root)) left.push(`mount ${line}`);
    for (const d of [layout(root).byPath, layout(root).byUuid, layout(root).run])
      for (const f of await readdir(d).catch(() => [])) left.push(`${d}/${f}`);
    return left;
  };

  const [p1, p2] = volA.portals;
  const latencies: number[] = [];
  const timedLogin = async (ia: typeof a.ia, ...argv: string[]) => {
    const started = performance.now();
    const r = await ia('-m', 'node', ...argv, '--login');
    if (r.code === 0) latencies.push(performance.now() - started);
    return r;
  };

  await t.test('discovery on both portals records both paths', async (t) => {
    for (const p of volA.portals) t.same(await a.ia('-m', 'discovery', '-t', 'sendtargets', '-p', p), { code: 0, out: [`${p},1 ${volA.iqn}`], err: [] }, `SendTargets on ${p}`);
    t.same((await a.ia('-m', 'node')).out, [`${p1},1 ${volA.iqn}`, `${p2},1 ${volA.iqn}`]);
    t.notMatch((await a.ia('-m', 'discovery', '-t', 'st', '-p', p1)).out.join('\n'), volB.iqn, 'a target outside our ACL is not discovered');
  });

  let loop = '';
  await t.test('login attaches the LUN as a loop device with the links drivers wait for', async (t) => {
    const where = `[iface: default, target: ${volA.iqn}, portal: ${p1.replace(':', ',')}]`;
    t.same(await timedLogin(a.ia, '-T', volA.iqn, '-p', p1), { code: 0, out: [`Logging in to ${where}`, `Login to ${where} successful.`], err: [] });
    loop = await readlink(byPath(a.root, volA, p1));
    t.match(loop, /^\/dev\/loop\d+$/, 'by-path link -> loop device');
    t.equal(await readlink(byUuid(a.root, volA)), loop, 'by-uuid/<volume uuid> -> the same device');
    t.equal(await size(loop), 1 * GiB, 'device size = volume size');
    t.same((await a.ia('-m', 'session')).out, [`tcp: [1] ${p1},1 ${volA.iqn} (non-flash)`]);
    t.ok((await a.ia('-m', 'session', '-P', '3')).out.includes(`\t\t\tAttached scsi disk ${loop.slice(5)}\t\tState: running`));
  });

  await t.test('bytes written through the loop device are on the target', async (t) => {
    await writeThrough(loop, 0x5a, 4 << 20, 1 << 16);
    const lun = { portal: p1, iqn: volA.iqn, lun: 1, initiator: INIT_A };
    t.equal(await verifyPattern(lun, 0x5a, 4 << 20, 1 << 16), 'ok', 'read back over iSCSI');
    t.equal(await verifyPattern(lun, 0x5b, 4 << 20, 1 << 16), 'mismatch', 'another pattern does not verify (the check can fail)');
  });

  await t.test('a filesystem works on it', async (t) => {
    const mnt = join(a.root, 'mnt');
    await mkdir(mnt);
    await run(['mkfs.ext4', '-q', '-F', loop]);
    await run(['mount', loop, mnt]);
    try {
      await writeFile(join(mnt, 'hello.txt'), 'through qemu-storage-daemon\n');
    } finally {
      await run(['umount', mnt]);
    }
    await run(['mount', '-o', 'ro', loop, mnt]);
    try {
      t.equal(await readFile(join(mnt, 'hello.txt'), 'utf8'), 'through qemu-storage-daemon\n', 'the file is there after a remount');
    } finally {
      await run(['umount', mnt]);
    }
  });

  await t.test('logging in again exits 15; a second portal is a second session', async (t) => {
    t.same(await a.ia('-m', 'node', '-T', volA.iqn, '-p', p1, '-l'), {
      code: 15,
      out: [],
      err: ['iscsiadm: default: 1 session requested, but 1 already present.', 'iscsiadm: Could not log into all portals'],
    });
    t.equal((await timedLogin(a.ia, '-T', volA.iqn, '-p', p2)).code, 0);
    const loop2 = await readlink(byPath(a.root, volA, p2));
    t.not(loop2, loop, 'each path has its own device');
    t.equal(await size(loop2), 1 * GiB);
    t.equal((await a.ia('-m', 'session')).out.length, 2);
    t.equal((await a.ia('-m', 'node', '-T', volA.iqn, '-p', p1, '-u')).code, 0);
    await t.rejects(readlink(byPath(a.root, volA, p1)), { code: 'ENOENT' }, 'the logged-out path has no link');
    t.equal(await readlink(byUuid(a.root, volA)), loop2, 'by-uuid now names the remaining path');
    loop = loop2;
  });

  await t.test('rescan picks up a resized volume', async (t) => {
    await c.put(`${volA.path}/volumes/volume-1`, { size: 2 });
    const r = await a.ia('-m', 'session', '-R');
    t.same(r.out, [`Rescanning session [sid: 2, target: ${volA.iqn}, portal: ${p2.replace(':', ',')}]`]);
    t.equal(await size(loop), 2 * GiB, 'the loop device grew to exactly 2 GiB');
  });

  await t.test('logout removes everything it made; a second logout exits 21', async (t) => {
    const st = await loadState(a.root);
    const pids = st.sessions.map((s) => s.pid!);
    t.equal(pids.length, 1);
    t.same(await a.ia('-m', 'node', '-T', volA.iqn, '-u'), {
      code: 0,
      out: [`Logging out of session [sid: 2, target: ${volA.iqn}, portal: ${p2.replace(':', ',')}]`, `Logout of [sid: 2, target: ${volA.iqn}, portal: ${p2.replace(':', ',')}] successful.`],
      err: [],
    });
    t.notOk(pids.some(pidAlive), 'no qemu-storage-daemon');
    t.same(await leftovers(a.root), [], 'no loop device, FUSE mount, link or session files');
    t.same(await a.ia('-m', 'node', '-T', volA.iqn, '-u'), { code: 21, out: [], err: ['iscsiadm: No matching sessions found'] });
    t.same(await a.ia('-m', 'session'), { code: 21, out: [], err: ['iscsiadm: No active sessions.'] });
    t.same((await a.ia('-m', 'node', '-o', 'delete')).code, 0);
    t.same((await a.ia('-m', 'node')).code, 21);
  });

  await t.test('an initiator outside the ACL cannot log in', async (t) => {
    const x = await node(OUTSIDER);
    t.same(await x.ia('-m', 'discovery', '-t', 'st', '-p', p1), { code: 21, out: [], err: ['iscsiadm: No portals found'] });
    t.equal((await x.ia('-m', 'node', '-T', volA.iqn, '-p', p1, '-o', 'new')).code, 0);
    const r = await x.ia('-m', 'node', '-T', volA.iqn, '-p', p1, '-l');
    t.equal(r.code, 19, 'non-retryable login failure, as open-iscsi reports a 02/03 login reject');
    t.match(r.err.join('\n'), /Could not login to .*\n.*initiator reported error \(19 - encountered non-retryable iSCSI login failure\)\n.*Target not found/);
    t.same((await x.ia('-m', 'session')).code, 21);
    t.same(await leftovers(x.root), []);
  });

  await t.test('CHAP credentials from the node record', async (t) => {
    const b = await node(INIT_B);
    await c.put(`${volB.path}/auth`, { type: 'chap', target_user_name: 'dkc-chap-user', target_pswd: 'dkc-chap-secret1' });
    t.equal((await b.ia('-m', 'discoverydb', '-t', 'st', '-p', volB.portals[0], '-o', 'new')).code, 0);
    t.equal((await b.ia('-m', 'discoverydb', '-t', 'st', '-p', volB.portals[0], '--discover')).code, 0);
    const noCreds = await b.ia('-m', 'node', '-T', volB.iqn, '-l');
    t.equal(noCreds.code, 24, 'authorization failure without credentials');
    for (const [n, v] of [
      ['node.session.auth.authmethod', 'CHAP'],
      ['node.session.auth.username', 'dkc-chap-user'],
      ['node.session.auth.password', 'dkc-chap-secret1'],
    ])
      t.equal((await b.ia('-m', 'node', '-T', volB.iqn, '-o', 'update', '-n', n!, '-v', v!)).code, 0);
    t.equal((await timedLogin(b.ia, '-T', volB.iqn)).code, 0);
    const st = await loadState(b.root);
    const cmdline = await readFile(`/proc/${st.sessions[0]!.pid}/cmdline`, 'utf8');
    t.notMatch(cmdline, /dkc-chap-secret1/, 'the password is not on the daemon command line');
    t.same(await readdir(st.sessions[0]!.dir).then((f) => f.filter((x) => x.includes('secret'))), [], 'the secret file is gone once the daemon is up');
    t.equal((await b.ia('-m', 'node', '-u')).code, 0);
    await c.put(`${volB.path}/auth`, { type: 'none' });
    await b.ia('-m', 'node', '-T', volB.iqn, '-o', 'update', '-n', 'node.session.auth.authmethod', '-v', 'None');
    t.same(await leftovers(b.root), []);
  });

  await t.test('two nodes log in at the same time without colliding', async (t) => {
    const n1 = await node(INIT_A);
    const n2 = await node(INIT_B);
    await Promise.all([n1.ia('-m', 'discovery', '-t', 'st', '-p', volA.portals[0]), n2.ia('-m', 'discovery', '-t', 'st', '-p', volB.portals[0])]);
    await Promise.all([n1.ia('-m', 'discovery', '-t', 'st', '-p', volA.portals[1]), n2.ia('-m', 'discovery', '-t', 'st', '-p', volB.portals[1])]);
    // Both portals of each node at once too: same-root logins serialise on the lock.
    const [r1, r2, r3, r4] = await Promise.all([
      n1.ia('-m', 'node', '-T', volA.iqn, '-p', volA.portals[0], '-l'),
      n2.ia('-m', 'node', '-T', volB.iqn, '-p', volB.portals[0], '-l'),
      n1.ia('-m', 'node', '-T', volA.iqn, '-p', volA.portals[1], '-l'),
      n2.ia('-m', 'node', '-T', volB.iqn, '-p', volB.portals[1], '-l'),
    ]);
    t.same([r1.code, r2.code, r3.code, r4.code], [0, 0, 0, 0]);
    const s1 = await n1.ia('-m', 'session');
    const s2 = await n2.ia('-m', 'session');
    t.same(s1.out.map((l) => l.split(' ')[3]), [volA.iqn, volA.iqn], 'node 1 sees only its volume');
    t.same(s2.out.map((l) => l.split(' ')[3]), [volB.iqn, volB.iqn], 'node 2 sees only its volume');
    t.same(new Set(s1.out.map((l) => l.split(' ')[1])), new Set(['[1]', '[2]']), 'distinct sids within a node');
    const d1 = await readlink(byUuid(n1.root, volA));
    const d2 = await readlink(byUuid(n2.root, volB));
    t.not(d1, d2);
    await Promise.all([writeThrough(d1, 0xa1, 8 << 20, 1 << 16), writeThrough(d2, 0xb2, 8 << 20, 1 << 16)]);
    t.equal(await verifyPattern({ portal: volA.portals[1], iqn: volA.iqn, lun: 1, initiator: INIT_A }, 0xa1, 8 << 20, 1 << 16), 'ok');
    t.equal(await verifyPattern({ portal: volB.portals[1], iqn: volB.iqn, lun: 1, initiator: INIT_B }, 0xb2, 8 << 20, 1 << 16), 'ok');
    const [o1, o2] = await Promise.all([n1.ia('-m', 'session', '-u'), n2.ia('-m', 'session', '-u')]);
    t.same([o1.code, o2.code], [0, 0]);
    t.same([...(await leftovers(n1.root)), ...(await leftovers(n2.root))], []);
  });

  await t.test('a killed daemon takes its session with it, and its leftovers are cleaned', async (t) => {
    const k = await node(INIT_A);
    await k.ia('-m', 'discovery', '-t', 'st', '-p', p1);
    t.equal((await k.ia('-m', 'node', '-l')).code, 0);
    const s = (await loadState(k.root)).sessions[0]!;
    process.kill(s.pid!, 'SIGKILL');
    await t.resolves(async () => {
      while (pidAlive(s.pid!)) await new Promise((r) => setTimeout(r, 20));
    });
    t.ok((await readFile('/proc/mounts', 'utf8')).includes(s.luns[0]!.fuse), 'a hard kill leaves the FUSE mount behind');
    t.same(await k.ia('-m', 'session'), { code: 21, out: [], err: ['iscsiadm: No active sessions.'] });
    t.same(await leftovers(k.root), [], 'mount, loop device and links are gone');
    t.equal((await k.ia('-m', 'node', '-l')).code, 0, 'and the node can log in again');
    t.equal((await k.ia('-m', 'node', '-u')).code, 0);
  });

  await t.test('the CLI entry propagates the exit code', async (t) => {
    const r = await run(['node', '--import', '@tapjs/typescript/import', 'drivers/iscsiadm/iscsiadm-cli.ts', '-m', 'session'], {
      env: { ...process.env, DKC_ISCSI_ROOT: a.root },
      nothrow: true,
    });
    t.equal(r.exitCode, 21);
    t.equal(r.stderr, 'iscsiadm: No active sessions.\n');
  });

  await t.test('nothing leaks', async (t) => {
    for (const r of roots) t.same(await leftovers(r), [], r);
    t.comment(`login latency (ms, in-process, includes LUN listing and serial lookup): ${latencies.map((x) => x.toFixed(0)).join(', ')}`);
  });
});
