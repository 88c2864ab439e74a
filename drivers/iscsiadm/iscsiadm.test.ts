// iscsiadm's command logic, output and exit codes, through main() with a fake initiator (no iSCSI, no root).
// iscsiadm.root.test.ts runs the same commands against real targets with the userspace initiator.
import t, { type Test } from 'tap';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../lib/exec.js';
import type { Chap, DiscoveredTarget, Initiator, LoginOptions } from './initiator.js';
import { chapFor, main } from './iscsiadm.js';
import { IscsiadmError } from './iscsi-err.js';
import { layout, loadState, saveState, type SessionRecord } from './state.js';
import { initiatorDetail, parseIscsiLs, parseMountinfo } from './userspace-initiator.js';

const IQN = 'iqn.2013-05.com.daterainc:tc:01:sn:9b8e220259a8a79f';
const IQN2 = 'iqn.2013-05.com.daterainc:tc:01:sn:00000000000000b2';
const ME = 'iqn.1993-08.org.debian:01:dkc-unit';

class FakeInitiator implements Initiator {
  targets = new Map<string, DiscoveredTarget[]>();
  refuse = new Set<string>();
  failLogin = new Map<string, IscsiadmError>();
  failTeardown = false;
  dead = new Set<number>();
  calls: string[] = [];
  chaps: (Chap | undefined)[] = [];
  async discover(p: { ip: string; port: number }, initiatorName: string, chap?: Chap) {
    this.calls.push(`discover ${p.ip}:${p.port} as ${initiatorName}`);
    this.chaps.push(chap);
    if (this.refuse.has(p.ip)) throw new IscsiadmError(4, [`cannot make connection to ${p.ip}: Connection refused`]);
    return this.targets.get(`${p.ip}:${p.port}`) ?? [];
  }
  async login(s: SessionRecord, o: LoginOptions) {
    this.calls.push(`login ${s.sid} ${s.ip} ${s.iqn}`);
    this.chaps.push(o.chap);
    const fail = this.failLogin.get(s.ip);
    if (fail) throw fail;
    s.pid = 1000 + s.sid;
    s.luns.push({ lun: 1, fuse: join(s.dir, 'lun-1'), node: 'lun1', loop: `/dev/loop${s.sid}`, serial: 'vol-uuid' });
    await o.persist();
  }
  async alive(s: SessionRecord) {
    return s.state === 'up' && !this.dead.has(s.sid);
  }
  async teardown(s: SessionRecord) {
    this.calls.push(`teardown ${s.sid}`);
    if (this.failTeardown) throw new Error('losetup: /dev/loop1: detach failed: Device or resource busy');
  }
  async rescan(s: SessionRecord) {
    this.calls.push(`rescan ${s.sid}`);
  }
  async relink(sessions: readonly SessionRecord[]) {
    this.calls.push(`relink ${sessions.map((s) => s.sid).join(',')}`);
  }
}

async function setup(t: Test, opts: { initiatorName?: string | null } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'dkc-iscsiadm-unit-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  if (opts.initiatorName !== null) {
    await mkdir(join(root, 'etc/iscsi'), { recursive: true });
    await writeFile(layout(root).initiatorName, `## comment\nInitiatorName=${opts.initiatorName ?? ME}\n`);
  }
  const fake = new FakeInitiator();
  fake.targets.set('10.0.0.1:3260', [{ iqn: IQN, ip: '10.0.0.1', port: 3260, tpgt: 1 }]);
  fake.targets.set('10.0.0.2:3260', [{ iqn: IQN, ip: '10.0.0.2', port: 3260, tpgt: 1 }]);
  const ia = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { DKC_ISCSI_ROOT: root }, { out: (l) => out.push(l), err: (l) => err.push(l), initiator: () => fake });
    return { code, out, err };
  };
  return { root, fake, ia };
}

t.test('version, help and usage errors need no root', async (t) => {
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };
  t.same(await run(['--version']), { code: 0, out: ['iscsiadm version 2.1.8'], err: [] });
  const help = await run(['-h']);
  t.equal(help.code, 0);
  t.match(help.out[0], /iscsiadm -m discoverydb/);
  t.same(await run([]), { code: 7, out: [], err: ["Try `iscsiadm --help' for more information."] });
  t.same(await run(['-m', 'node', '-Z']), { code: 7, out: [], err: ["iscsiadm: invalid option -- 'Z'", "Try `iscsiadm --help' for more information."] });
  t.same((await run(['-m', 'session', '-T', 'x'])).err, ["iscsiadm: session mode: option '-T' is not allowed/supported"]);
  t.same((await run(['-m', 'discoverydb', '-u'])).err, ["iscsiadm: discovery mode: option '-u' is not allowed/supported"]);
  const noRoot = await run(['-m', 'session']);
  t.equal(noRoot.code, 6);
  t.match(noRoot.err[0], /^iscsiadm: DKC_ISCSI_ROOT is not set/);
});

t.test('discovery records nodes and prints ip:port,tpgt iqn; nodes list and tree', async (t) => {
  const { ia, fake, root } = await setup(t);
  t.same(await ia('-m', 'discovery', '-t', 'sendtargets', '-p', '10.0.0.1'), { code: 0, out: [`10.0.0.1:3260,1 ${IQN}`], err: [] });
  t.same((await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2:3260')).out, [`10.0.0.2:3260,1 ${IQN}`]);
  t.same(fake.calls, [`discover 10.0.0.1:3260 as ${ME}`, `discover 10.0.0.2:3260 as ${ME}`]);
  t.same((await ia('-m', 'node')).out, [`10.0.0.1:3260,1 ${IQN}`, `10.0.0.2:3260,1 ${IQN}`]);
  t.same((await ia('-m', 'node', '-P', '1')).out, [`Target: ${IQN}`, '\tPortal: 10.0.0.1:3260,1', '\t\tIface Name: default', '\tPortal: 10.0.0.2:3260,1', '\t\tIface Name: default']);
  t.equal((await ia('-m', 'node', '-P', '2')).code, 7);
  t.same((await ia('-m', 'discovery')).out, ['10.0.0.1:3260 via sendtargets', '10.0.0.2:3260 via sendtargets']);
  t.same((await ia('-m', 'discovery', '-P', '1', '-t', 'st', '-p', '10.0.0.1')).out, [`Target: ${IQN}`, '\tPortal: 10.0.0.1:3260,1', '\t\tIface Name: default']);
  const show = await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1');
  t.ok(show.out.includes('node.discovery_address = 10.0.0.1'));
  t.ok(show.out.includes('node.discovery_type = send_targets'));
  const st = await loadState(root);
  t.equal(st.nodes.length, 2);
  t.equal(st.discovery.length, 2);
});

t.test('discovery failures: refused (4), nothing visible (21), bad iface, unsupported types', async (t) => {
  const { ia, fake } = await setup(t);
  fake.refuse.add('10.0.0.9');
  t.same(await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.9'), {
    code: 4,
    out: [],
    err: ['iscsiadm: cannot make connection to 10.0.0.9: Connection refused', 'iscsiadm: Could not perform SendTargets discovery: encountered connection failure'],
  });
  t.same(await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.3'), { code: 21, out: [], err: ['iscsiadm: No portals found'] });
  const iface = await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1', '-I', 'iser0');
  t.equal(iface.code, 21);
  t.match(iface.err[0], /Could not read iface info for iser0/);
  t.equal((await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1', '-I', 'iser0', '-I', 'default')).code, 0, 'a good iface among bad ones is used');
  t.equal((await ia('-m', 'discovery', '-t', 'isns', '-p', '10.0.0.1')).code, 27);
  t.equal((await ia('-m', 'discovery', '-t', 'bogus', '-p', '10.0.0.1')).code, 7);
  t.same((await ia('-m', 'discovery', '-t', 'st')).err, ['iscsiadm: Please specify portal as <ipaddr>[:<ipport>]']);
  t.same((await ia('-m', 'discovery', '-p', '10.0.0.7')).err, ['iscsiadm: Discovery record [10.0.0.7,3260] not found!']);
  t.equal((await ia('-m', 'discovery', '-o', 'delete')).code, 7);
  t.same((await ia('-m', 'node')).out, [`10.0.0.1:3260,1 ${IQN}`], 'only the discovery that worked recorded a node');
});

t.test('discovery mode on a known portal: show, rediscover, delete; new/update need discoverydb', async (t) => {
  const { ia, fake } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  t.ok((await ia('-m', 'discovery', '-p', '10.0.0.1')).out.includes('discovery.sendtargets.address = 10.0.0.1'));
  t.same((await ia('-m', 'discovery', '-p', '10.0.0.1', '--discover')).out, [`10.0.0.1:3260,1 ${IQN}`]);
  t.equal((await ia('-m', 'discovery', '-p', '10.0.0.1', '-o', 'update')).code, 7);
  t.equal((await ia('-m', 'discovery', '-p', '10.0.0.1', '-o', 'nonpersistent')).code, 7);
  t.equal((await ia('-m', 'discovery', '-p', '10.0.0.1', '-o', 'delete')).code, 0);
  t.same(await ia('-m', 'discovery'), { code: 21, out: [], err: [] });
  t.equal((await ia('-m', 'node')).code, 21, 'its nodes went with it');
  fake.calls = [];
});

t.test('rediscovery drops stale nodes but not one in use; -o new keeps settings, default op resets them', async (t) => {
  const { ia, fake, root } = await setup(t);
  fake.targets.set('10.0.0.1:3260', [
    { iqn: IQN, ip: '10.0.0.1', port: 3260, tpgt: 1 },
    { iqn: IQN2, ip: '10.0.0.1', port: 3260, tpgt: 1 },
  ]);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-o', 'update', '-n', 'node.startup', '-v', 'automatic');
  await ia('-m', 'node', '-T', IQN2, '-l');
  fake.targets.set('10.0.0.1:3260', [{ iqn: 'iqn.new:c', ip: '10.0.0.1', port: 3260, tpgt: 1 }]);
  const again = await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1', '-o', 'new', '-o', 'delete');
  t.equal(again.code, 0);
  t.match(again.err[0], /remove the record \[iface: default, target: iqn.2013-05.com.daterainc:tc:01:sn:00000000000000b2, portal: 10.0.0.1,3260\], but a session is using it/);
  t.same((await ia('-m', 'node')).out, [`10.0.0.1:3260,1 ${IQN2}`, '10.0.0.1:3260,1 iqn.new:c']);
  fake.targets.set('10.0.0.1:3260', [{ iqn: IQN2, ip: '10.0.0.1', port: 3260, tpgt: 1 }]);
  await ia('-m', 'node', '-T', IQN2, '-o', 'update', '-n', 'node.startup', '-v', 'automatic');
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1', '-o', 'new');
  t.equal((await loadState(root)).nodes.find((n) => n.iqn === IQN2)?.settings['node.startup'], 'automatic', '-o new keeps an existing record');
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  t.equal((await loadState(root)).nodes.find((n) => n.iqn === IQN2)?.settings['node.startup'], 'manual', 'the default op updates it from the defaults');
  t.equal((await loadState(root)).nodes.length, 1, 'and deletes what was not found');
  t.same((await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2', '-o', 'nonpersistent')).out, [`10.0.0.2:3260,1 ${IQN}`]);
  t.equal((await loadState(root)).nodes.length, 1, 'nonpersistent records nothing');
  const withLogin = await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2', '-l');
  t.same(withLogin.out, [`10.0.0.2:3260,1 ${IQN}`, `Logging in to [iface: default, target: ${IQN}, portal: 10.0.0.2,3260]`, `Login to [iface: default, target: ${IQN}, portal: 10.0.0.2,3260] successful.`], 'discovery -l logs in to what it found');
});

t.test('discoverydb: new, show, update (CHAP for discovery), --discover, delete', async (t) => {
  const { ia, fake, root } = await setup(t);
  t.same(await ia('-m', 'discoverydb', '-t', 'sendtargets', '-p', '10.0.0.1:3260', '-I', 'default', '-o', 'new'), {
    code: 0,
    out: ['New discovery record for [10.0.0.1,3260] added.'],
    err: [],
  });
  t.equal((await loadState(root)).nodes.length, 0, 'no discovery yet');
  const upd = (n: string, v: string) => ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-o', 'update', '-n', n, '-v', v);
  t.equal((await upd('discovery.sendtargets.auth.authmethod', 'CHAP')).code, 0);
  t.equal((await upd('discovery.sendtargets.auth.username', 'du')).code, 0);
  t.equal((await upd('discovery.sendtargets.auth.password', 'dpw')).code, 0);
  t.equal((await upd('node.startup', 'x')).code, 7);
  t.equal((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-o', 'update')).code, 7);
  const show = await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1');
  t.ok(show.out.includes('discovery.sendtargets.auth.password = ********'));
  t.ok((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-o', 'show', '-S')).out.includes('discovery.sendtargets.auth.password = dpw'));
  t.same((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-I', 'default', '--discover')).out, [`10.0.0.1:3260,1 ${IQN}`]);
  t.same(fake.chaps.at(-1), { username: 'du', password: 'dpw' }, 'discovery CHAP from the record');
  // Without a record, --discover makes one (open-iscsi adds a default record for the user).
  t.equal((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.2', '--discover')).code, 0);
  t.equal(fake.chaps.at(-1), undefined);
  t.same((await ia('-m', 'discoverydb')).out, ['10.0.0.1:3260 via sendtargets', '10.0.0.2:3260 via sendtargets']);
  t.same((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.5')).err, ['iscsiadm: Discovery record [10.0.0.5,3260] not found.']);
  t.equal((await ia('-m', 'discoverydb', '-p', '10.0.0.1')).code, 7);
  t.equal((await ia('-m', 'discoverydb', '-p', '10.0.0.1', '-o', 'delete')).code, 7);
  t.equal((await ia('-m', 'discoverydb', '-t', 'slp', '-p', '10.0.0.1')).code, 27);
  t.equal((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-o', 'nonpersistent')).code, 7);
  t.equal((await ia('-m', 'discoverydb', '-t', 'st')).code, 7);
  t.equal((await ia('-m', 'discoverydb', '-t', 'st', '-p', '10.0.0.1', '-o', 'delete')).code, 0);
  t.same((await ia('-m', 'node')).out, [`10.0.0.2:3260,1 ${IQN}`]);
  t.same(chapFor({ 'x.authmethod': 'CHAP', 'x.username': '' }, 'x' as never), undefined, 'empty CHAP credentials mean none (csi-lib-iscsi sets them)');
});

t.test('node records: new, update (CHAP), show, delete', async (t) => {
  const { ia, root } = await setup(t);
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1:3260', '-o', 'new'), {
    code: 0,
    out: [`New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=default] 10.0.0.1,3260,-1 ${IQN}] added`],
    err: [],
  });
  t.same((await ia('-m', 'node')).out, [`10.0.0.1:3260,-1 ${IQN}`]);
  const upd = (n: string, v: string) => ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '--op=update', '-n', n, '-v', v);
  t.equal((await upd('node.session.auth.authmethod', 'CHAP')).code, 0);
  t.equal((await upd('node.session.auth.username', 'chapuser')).code, 0);
  t.equal((await upd('node.session.auth.password', 'chapsecret1234')).code, 0);
  t.same((await upd('iface.initiatorname', 'x')).err, ['iscsiadm: Cannot modify iface.initiatorname. Use iface mode to update this value.']);
  t.equal((await upd('bogus', 'x')).code, 7);
  t.equal((await upd('iface.transport_name', 'tcp')).code, 0);
  t.same((await ia('-m', 'node', '-T', IQN, '-o', 'update')).err, ['iscsiadm: update requires name and value']);
  t.same((await ia('-m', 'node', '-T', 'iqn.none:x', '-o', 'update', '-n', 'node.startup', '-v', 'manual')).code, 21);
  const show = await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-o', 'show');
  t.ok(show.out.includes('node.session.auth.username = chapuser'));
  t.ok(show.out.includes('node.session.auth.password = ********'));
  t.notOk(show.out.join('\n').includes('chapsecret1234'), 'no password without -S');
  t.equal((await readFile(layout(root).state)).length > 0, true);
  t.equal((await ia('-m', 'node', '-T', 'iqn.none:x', '-o', 'show')).code, 21);
  t.equal((await ia('-m', 'node', '-T', IQN, '-o', 'new')).code, 0, 'a known target alone re-adds its portals');
  t.equal((await loadState(root)).nodes[0]?.settings['node.session.auth.username'], '', '-o new resets the record, as open-iscsi does');
  t.same((await ia('-m', 'node', '-T', 'iqn.none:x', '-o', 'new')).err, ['iscsiadm: Error while adding record: no objects found']);
  t.equal((await ia('-m', 'node', '-T', IQN, '-o', 'delete')).code, 0);
  t.same(await ia('-m', 'node', '-T', IQN, '-o', 'delete'), { code: 21, out: [], err: ['iscsiadm: No records found'] });
  t.equal((await ia('-m', 'node', '-T', IQN, '-o', 'apply')).code, 7);
  t.equal((await ia('-m', 'node', '-T', IQN, '-I', 'iser0', '-l')).code, 3, 'an unknown iface: open-iscsi fails to build the record');
});

t.test('login, already logged in (15), session list, logout, nothing to log out (21)', async (t) => {
  const { ia, fake, root } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2');
  t.same(await ia('-m', 'session'), { code: 21, out: [], err: ['iscsiadm: No active sessions.'] });
  const where1 = `[iface: default, target: ${IQN}, portal: 10.0.0.1,3260]`;
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1:3260', '--login'), { code: 0, out: [`Logging in to ${where1}`, `Login to ${where1} successful.`], err: [] });
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l'), {
    code: 15,
    out: [],
    err: ['iscsiadm: default: 1 session requested, but 1 already present.', 'iscsiadm: Could not log into all portals'],
  });
  const both = await ia('-m', 'node', '-T', IQN, '-l');
  t.equal(both.code, 15, 'one portal new, one already there');
  t.same(both.out, [`Logging in to [iface: default, target: ${IQN}, portal: 10.0.0.2,3260]`, `Login to [iface: default, target: ${IQN}, portal: 10.0.0.2,3260] successful.`]);
  t.same((await ia('-m', 'session')).out, [`tcp: [1] 10.0.0.1:3260,1 ${IQN} (non-flash)`, `tcp: [2] 10.0.0.2:3260,1 ${IQN} (non-flash)`]);
  t.ok((await ia('-m', 'session', '-P', '3')).out.includes('\t\t\tAttached scsi disk loop2\t\tState: running'));
  t.equal((await ia('-m', 'session', '-P', '4')).code, 7);
  t.same((await ia('-m', 'session', '-r', '2')).out, [`tcp: [2] 10.0.0.2:3260,1 ${IQN} (non-flash)`]);
  t.equal((await ia('-m', 'session', '-r', '2', '-P', '1')).out[0], `Target: ${IQN} (non-flash)`);
  t.same(await ia('-m', 'session', '-r', '9'), { code: 2, out: [], err: ['iscsiadm: Could not get session info for sid 9'] });
  const st = await loadState(root);
  t.same(
    st.sessions.map((s) => [s.sid, s.state, s.owner, s.initiator, s.dir]),
    [
      [1, 'up', undefined, ME, join(root, 'run/iscsi/session-1')],
      [2, 'up', undefined, ME, join(root, 'run/iscsi/session-2')],
    ],
  );
  t.equal((await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.2', '-o', 'delete')).code, 15, 'a record in use is not deleted');
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-u'), {
    code: 0,
    out: [`Logging out of session [sid: 1, target: ${IQN}, portal: 10.0.0.1,3260]`, `Logout of [sid: 1, target: ${IQN}, portal: 10.0.0.1,3260] successful.`],
    err: [],
  });
  t.ok(fake.calls.includes('teardown 1'));
  t.ok(fake.calls.includes('relink 2'), 'links of the remaining session are restored');
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-u'), { code: 21, out: [], err: ['iscsiadm: No matching sessions found'] });
  t.equal((await ia('-m', 'session', '-r', '2', '-u')).code, 0);
  t.equal((await ia('-m', 'session', '-u')).code, 21);
  t.equal((await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l', '-u')).code, 7);
  t.equal((await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l', '-o', 'delete')).code, 7);
  t.equal((await ia('-m', 'node', '-T', 'iqn.none:x', '-l')).code, 21);
});

t.test('a failed logout keeps the session so it can be retried (10)', async (t) => {
  const { ia, fake } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  await ia('-m', 'node', '-l');
  fake.failTeardown = true;
  const r = await ia('-m', 'node', '-u');
  t.equal(r.code, 10);
  t.same(r.err, [
    `iscsiadm: Could not logout of [sid: 1, target: ${IQN}, portal: 10.0.0.1,3260].`,
    'iscsiadm: initiator reported error (10 - encountered iSCSI logout failure)',
    'iscsiadm: losetup: /dev/loop1: detach failed: Device or resource busy',
    'iscsiadm: Could not logout of all requested sessions',
  ]);
  t.equal((await ia('-m', 'session')).out.length, 1);
  fake.failTeardown = false;
  t.equal((await ia('-m', 'node', '-u')).code, 0);
});

t.test('a failed login prints what open-iscsi prints, exits with its code, and records nothing', async (t) => {
  const { ia, fake, root } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  fake.failLogin.set('10.0.0.1', new IscsiadmError(19, ['Login Failed. Failed to log in to target. Status: Target not found(515)']));
  const where = `[iface: default, target: ${IQN}, portal: 10.0.0.1,3260]`;
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l'), {
    code: 19,
    out: [`Logging in to ${where}`],
    err: [
      `iscsiadm: Could not login to ${where}.`,
      'iscsiadm: initiator reported error (19 - encountered non-retryable iSCSI login failure)',
      'iscsiadm: Login Failed. Failed to log in to target. Status: Target not found(515)',
      'iscsiadm: Could not log into all portals',
    ],
  });
  t.same((await loadState(root)).sessions, []);
  fake.failLogin.set('10.0.0.1', new Error('qsd exploded') as IscsiadmError);
  const odd = await ia('-m', 'node', '-l');
  t.equal(odd.code, 5, 'an unexpected failure is a generic login failure');
  t.ok(odd.err.includes('iscsiadm: qsd exploded'));
});

t.test('CHAP from the node record reaches the initiator; mutual CHAP is warned about', async (t) => {
  const { ia, fake } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  for (const [n, v] of [
    ['node.session.auth.authmethod', 'CHAP'],
    ['node.session.auth.username', 'u1'],
    ['node.session.auth.password', 'p1'],
    ['node.session.auth.username_in', 'tu'],
  ])
    await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-o', 'update', '-n', n!, '-v', v!);
  const r = await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l');
  t.equal(r.code, 0);
  t.same(fake.chaps.at(-1), { username: 'u1', password: 'p1' });
  t.match(r.err[0], /mutual CHAP \(username_in\) is ignored/);
});

t.test('a session whose daemon died is cleaned up and not listed; a crashed login is cleaned up too', async (t) => {
  const { ia, fake, root } = await setup(t);
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2');
  await ia('-m', 'node', '-l');
  fake.dead.add(1);
  t.same((await ia('-m', 'session')).out, [`tcp: [2] 10.0.0.2:3260,1 ${IQN} (non-flash)`]);
  t.ok(fake.calls.includes('teardown 1'));
  fake.dead.add(2);
  t.same(await ia('-m', 'session'), { code: 21, out: [], err: ['iscsiadm: No active sessions.'] });
  // An iscsiadm killed mid-login leaves a 'starting' record owned by a dead pid.
  const st = await loadState(root);
  st.sessions.push({ sid: 9, iqn: IQN, ip: '10.0.0.1', port: 3260, tpgt: 1, iface: 'default', initiator: ME, dir: join(root, 'run/iscsi/session-9'), state: 'starting', owner: 4_194_303, luns: [] });
  await saveState(root, st);
  fake.calls = [];
  t.equal((await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-l')).code, 0, 'the leftover does not block a new login');
  t.same(fake.calls.slice(0, 2), ['teardown 9', 'relink '], 'the leftover is torn down first');
});

t.test('rescan, loginall, logoutall, stats', async (t) => {
  const { ia, fake } = await setup(t);
  t.same(await ia('-m', 'session', '-R'), { code: 21, out: [], err: ['iscsiadm: No session found.'] });
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  await ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.2');
  t.same(await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-R'), { code: 21, out: [], err: ['iscsiadm: No session found.'] });
  t.equal((await ia('-m', 'node', '-L', 'automatic')).code, 21, 'no automatic records');
  t.equal((await ia('-m', 'node', '-L', 'sometimes')).code, 7);
  t.equal((await ia('-m', 'node', '-L', 'all')).code, 0);
  t.same((await ia('-m', 'node', '-T', IQN, '-p', '10.0.0.1', '-R')).out, [`Rescanning session [sid: 1, target: ${IQN}, portal: 10.0.0.1,3260]`]);
  t.equal((await ia('-m', 'session', '-R')).out.length, 2);
  t.same(
    fake.calls.filter((c) => c.startsWith('rescan')),
    ['rescan 1', 'rescan 1', 'rescan 2'],
  );
  t.equal((await ia('-m', 'session', '-s')).code, 27);
  t.equal((await ia('-m', 'node', '-s')).code, 27);
  t.equal((await ia('-m', 'session', '-r', '1', '-o', 'new')).code, 27);
  t.equal((await ia('-m', 'session', '-o', 'new')).code, 7);
  t.equal((await ia('-m', 'node', '-U', 'manual')).out.length, 4, 'logoutall manual: both sessions');
  t.equal((await ia('-m', 'node', '-U', 'all')).code, 21);
});

t.test('iface, host and fw modes', async (t) => {
  const { ia } = await setup(t);
  t.same(await ia('-m', 'iface'), { code: 0, out: ['default tcp,<empty>,<empty>,<empty>,<empty>'], err: [] });
  const show = await ia('-m', 'iface', '-o', 'show', '-I', 'default');
  t.equal(show.code, 0);
  t.ok(show.out.includes('iface.transport_name = tcp'));
  t.equal((await ia('-m', 'iface', '-P', '1')).code, 0);
  t.same(await ia('-m', 'iface', '-I', 'iser0'), { code: 21, out: [], err: ['iscsiadm: Could not read iface iser0 (21).'] });
  t.equal((await ia('-m', 'iface', '-I', 'x', '-o', 'new')).code, 27);
  t.equal((await ia('-m', 'host')).code, 21);
  t.equal((await ia('-m', 'fw')).code, 21);
});

t.test('initiator name: read, generated when missing, configurable, or an error', async (t) => {
  const gen = await setup(t, { initiatorName: null });
  await gen.ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  const name = /InitiatorName=(\S+)/.exec(await readFile(layout(gen.root).initiatorName, 'utf8'))?.[1];
  t.match(name, /^iqn\.1993-08\.org\.debian:01:[0-9a-f]{12}$/);
  t.same(gen.fake.calls, [`discover 10.0.0.1:3260 as ${name}`]);

  const custom = await setup(t);
  const file = join(custom.root, 'my-initiator');
  await writeFile(file, 'InitiatorName = iqn.2024-01.example:custom\n');
  await main(['-m', 'discovery', '-t', 'st', '-p', '10.0.0.1'], { DKC_ISCSI_ROOT: custom.root, DKC_ISCSI_INITIATORNAME_FILE: file }, { out: () => {}, err: () => {}, initiator: () => custom.fake });
  t.same(custom.fake.calls, ['discover 10.0.0.1:3260 as iqn.2024-01.example:custom']);

  const broken = await setup(t);
  await writeFile(layout(broken.root).initiatorName, '# nothing here\n');
  const r = await broken.ia('-m', 'discovery', '-t', 'st', '-p', '10.0.0.1');
  t.equal(r.code, 6);
  t.match(r.err[0], /No InitiatorName=\.\.\. line in/);
});

t.test('concurrent invocations on one root do not lose each other’s records', async (t) => {
  const { ia } = await setup(t);
  const iqns = Array.from({ length: 8 }, (_, i) => `iqn.2024-01.example:t${i}`);
  const results = await Promise.all(iqns.map((iqn) => ia('-m', 'node', '-T', iqn, '-p', '10.0.0.1', '-o', 'new')));
  t.same(results.map((r) => r.code), iqns.map(() => 0));
  t.equal((await ia('-m', 'node')).out.length, 8);
});

t.test('an unexpected failure inside a command is an internal error (9), not a crash', async (t) => {
  const { ia, root } = await setup(t);
  await mkdir(layout(root).state, { recursive: true }); // a directory where the state file should be
  const r = await ia('-m', 'node');
  t.equal(r.code, 6);
  t.match(r.err[0], /Could not read the iSCSI database/);
  const out: string[] = [];
  const err: string[] = [];
  const boom: Initiator = { ...new FakeInitiator(), discover: () => Promise.reject(new TypeError('boom')) } as unknown as Initiator;
  const root2 = await mkdtemp(join(tmpdir(), 'dkc-iscsiadm-unit-'));
  t.teardown(() => rm(root2, { recursive: true, force: true }));
  const code = await main(['-m', 'discovery', '-t', 'st', '-p', '10.0.0.1'], { DKC_ISCSI_ROOT: root2 }, { out: (l) => out.push(l), err: (l) => err.push(l), initiator: () => boom });
  t.equal(code, 9);
  t.same(err, ['iscsiadm: internal error: boom']);
});

t.test('the userspace initiator parses libiscsi and mountinfo output', async (t) => {
  const ls = parseIscsiLs(
    [
      `Target:${IQN} Portal:127.10.0.1:3260,1`,
      'Lun:0    Type:STORAGE_ARRAY_CONTROLLER',
      'Lun:1    Type:DIRECT_ACCESS (Size:1023M)',
      `Target:${IQN2} Portal:[fd00::1]:3260,2`,
      'Lun:1    Type:DIRECT_ACCESS (Size:10G)',
      'noise',
    ].join('\n'),
  );
  t.same(ls, [
    {
      target: { iqn: IQN, ip: '127.10.0.1', port: 3260, tpgt: 1 },
      luns: [
        { lun: 0, type: 'STORAGE_ARRAY_CONTROLLER' },
        { lun: 1, type: 'DIRECT_ACCESS' },
      ],
    },
    { target: { iqn: IQN2, ip: 'fd00::1', port: 3260, tpgt: 2 }, luns: [{ lun: 1, type: 'DIRECT_ACCESS' }] },
  ]);
  const mi = parseMountinfo('57 27 0:50 / /tmp/a\\040b/lun-1 rw,nosuid - fuse /dev/fuse rw\n22 1 8:1 / / rw - ext4 /dev/sda1 rw\nshort\n');
  t.equal(mi.get('/tmp/a b/lun-1'), '0:50');
  t.equal(mi.get('/'), '8:1');
  t.equal(
    initiatorDetail(
      'qemu-storage-daemon: --blockdev driver=iscsi,user=u,password-secret=chap0: iSCSI: Failed to connect to LUN : Failed to log in to target. Status: Authentication failure(513)\n',
    ),
    'iSCSI: Failed to connect to LUN : Failed to log in to target. Status: Authentication failure(513)',
  );
  t.equal(initiatorDetail('qemu-storage-daemon: --export type=fuse: Something else\n'), 'Something else');
  t.equal(initiatorDetail(''), '');
});

t.test('bin/iscsiadm runs the compiled CLI with its arguments and exit code, also through a symlink', async (t) => {
  const tree = await mkdtemp(join(tmpdir(), 'dkc-iscsiadm-wrapper-'));
  t.teardown(() => rm(tree, { recursive: true, force: true }));
  const wrapper = join(tree, 'drivers/iscsiadm/bin/iscsiadm');
  await mkdir(dirname(wrapper), { recursive: true });
  await copyFile(join(dirname(fileURLToPath(import.meta.url)), 'bin/iscsiadm'), wrapper);
  await run(['chmod', '+x', wrapper]);
  await mkdir(join(tree, 'path'));
  await symlink(wrapper, join(tree, 'path/iscsiadm'));
  const env = { ...process.env, PATH: `${join(tree, 'path')}:${process.env.PATH}` };
  const missing = await run(['iscsiadm', '-m', 'session'], { env, nothrow: true });
  t.equal(missing.exitCode, 9);
  t.match(missing.stderr, /iscsiadm-cli\.js is missing: run npm run build/);
  const cli = join(tree, 'dist/drivers/iscsiadm/iscsiadm-cli.js');
  await mkdir(dirname(cli), { recursive: true });
  await writeFile(cli, 'console.log(JSON.stringify(process.argv.slice(2))); process.exitCode = 21;\n');
  const r = await run(['iscsiadm', '-m', 'node', '-T', 'iqn.x:a b', '--login'], { env, nothrow: true });
  t.equal(r.exitCode, 21);
  t.same(JSON.parse(r.stdout), ['-m', 'node', '-T', 'iqn.x:a b', '--login']);
});
