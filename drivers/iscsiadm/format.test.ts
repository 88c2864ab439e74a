import t from 'tap';
import { discoveryFlat, discoveryRecord, hostPort, ifaceFlat, ifaceRecord, msg, nodeFlat, nodeRecord, nodeTree, sessionFlat, sessionTree } from './format.js';
import { DISCOVERY_DEFAULTS, NODE_DEFAULTS, type NodeRecord, type SessionRecord } from './state.js';

const IQN = 'iqn.2013-05.com.daterainc:tc:01:sn:9b8e220259a8a79f';
const node = (ip: string, settings: Record<string, string> = {}): NodeRecord => ({
  iqn: IQN,
  ip,
  port: 3260,
  tpgt: 1,
  iface: 'default',
  settings: { ...Object.fromEntries(NODE_DEFAULTS), ...settings },
});
const session = (sid: number, ip: string, loop?: string): SessionRecord => ({
  sid,
  iqn: IQN,
  ip,
  port: 3260,
  tpgt: 1,
  iface: 'default',
  initiator: 'iqn.1993-08.org.debian:01:abc',
  dir: `/r/run/iscsi/session-${sid}`,
  state: 'up',
  luns: [{ lun: 1, fuse: 'f', node: 'lun1', ...(loop ? { loop } : {}) }],
});

t.test('discovery and node lines are `ip:port,tpgt iqn`', async (t) => {
  t.equal(nodeFlat(node('10.144.50.243')), `10.144.50.243:3260,1 ${IQN}`);
  t.equal(nodeFlat({ ...node('fd00::5'), tpgt: -1 }), `[fd00::5]:3260,-1 ${IQN}`);
  t.equal(hostPort('fd00::5', 3260), '[fd00::5]:3260');
  t.same(nodeTree([node('10.0.0.2'), node('10.0.0.1'), { ...node('10.0.0.3'), iqn: 'iqn.a:b' }]), [
    `Target: ${IQN}`,
    '\tPortal: 10.0.0.2:3260,1',
    '\t\tIface Name: default',
    '\tPortal: 10.0.0.1:3260,1',
    '\t\tIface Name: default',
    'Target: iqn.a:b',
    '\tPortal: 10.0.0.3:3260,1',
    '\t\tIface Name: default',
  ]);
});

t.test('session lines are what `iscsiadm -m session` prints', async (t) => {
  t.equal(sessionFlat(session(1, '10.144.50.243')), `tcp: [1] 10.144.50.243:3260,1 ${IQN} (non-flash)`);
  const p1 = sessionTree([session(1, '10.0.0.1'), session(2, '10.0.0.2')], 1);
  t.equal(p1[0], `Target: ${IQN} (non-flash)`);
  t.equal(p1.filter((l) => l.startsWith('Target:')).length, 1, 'one Target header for two portals');
  t.ok(p1.includes('\tCurrent Portal: 10.0.0.2:3260,1'));
  t.ok(p1.includes('\t\tSID: 2'));
  t.notOk(p1.some((l) => l.includes('Attached')), 'level 1 has no devices');
  const p3 = sessionTree([session(4, '10.0.0.1', '/dev/loop7')], 3);
  t.same(p3.slice(0, 2), ['iSCSI Transport Class version 2.0-870', 'version 2.1.8']);
  t.ok(p3.includes('\t\tNegotiated iSCSI params:'));
  t.ok(p3.includes('\t\tscsi4 Channel 00 Id 0 Lun: 1'));
  t.ok(p3.includes('\t\t\tAttached scsi disk loop7\t\tState: running'), 'the line CSI drivers parse for the device');
  // Same portal twice (a second session to one portal) prints a blank line instead of repeating the portal.
  t.ok(sessionTree([session(1, '10.0.0.1'), session(2, '10.0.0.1')], 1).includes(''));
  t.notOk(sessionTree([session(5, '10.0.0.1')], 3).some((l) => l.includes('Attached scsi disk')), 'no loop, no disk line');
});

t.test('node records: every setting, passwords masked unless -S', async (t) => {
  const n = node('10.0.0.1', { 'node.session.auth.authmethod': 'CHAP', 'node.session.auth.username': 'u', 'node.session.auth.password': 's3cret', 'node.custom.x': 'y' });
  const lines = nodeRecord(n, false);
  t.equal(lines[0], '# BEGIN RECORD 2.1.8');
  t.equal(lines.at(-1), '# END RECORD');
  t.ok(lines.includes(`node.name = ${IQN}`));
  t.ok(lines.includes('node.tpgt = 1'));
  t.ok(lines.includes('node.conn[0].address = 10.0.0.1'));
  t.ok(lines.includes('node.session.auth.username = u'));
  t.ok(lines.includes('node.session.auth.password = ********'));
  t.ok(lines.includes('node.session.auth.password_in = <empty>'));
  t.ok(lines.includes('iface.transport_name = tcp'));
  t.ok(lines.includes('node.custom.x = y'), 'settings set by update are shown');
  t.notOk(lines.join('\n').includes('s3cret'));
  t.ok(nodeRecord(n, true).includes('node.session.auth.password = s3cret'));
});

t.test('discovery records and ifaces', async (t) => {
  const d = { ip: '10.0.0.1', port: 3260, settings: { ...Object.fromEntries(DISCOVERY_DEFAULTS), 'discovery.sendtargets.auth.password': 'pw' } };
  t.equal(discoveryFlat(d), '10.0.0.1:3260 via sendtargets');
  const rec = discoveryRecord(d, false);
  t.ok(rec.includes('discovery.sendtargets.address = 10.0.0.1'));
  t.ok(rec.includes('discovery.sendtargets.port = 3260'));
  t.ok(rec.includes('discovery.sendtargets.auth.password = ********'));
  t.ok(discoveryRecord(d, true).includes('discovery.sendtargets.auth.password = pw'));
  t.equal(ifaceFlat(), 'default tcp,<empty>,<empty>,<empty>,<empty>');
  t.ok(ifaceRecord(undefined).includes('iface.transport_name = tcp'));
  t.ok(ifaceRecord('iqn.x:y').includes('iface.initiatorname = iqn.x:y'));
});

t.test('login, logout and rescan messages match open-iscsi', async (t) => {
  const n = node('10.0.0.1');
  t.equal(msg.loggingIn(n), `Logging in to [iface: default, target: ${IQN}, portal: 10.0.0.1,3260]`);
  t.equal(msg.loginOk(n), `Login to [iface: default, target: ${IQN}, portal: 10.0.0.1,3260] successful.`);
  t.equal(msg.loginFailed(n), `Could not login to [iface: default, target: ${IQN}, portal: 10.0.0.1,3260].`);
  t.equal(msg.initiatorError(24, 'iSCSI login failed due to authorization failure'), 'initiator reported error (24 - iSCSI login failed due to authorization failure)');
  t.equal(msg.alreadyPresent(n), 'default: 1 session requested, but 1 already present.');
  const s = session(3, '10.0.0.1');
  t.equal(msg.loggingOut(s), `Logging out of session [sid: 3, target: ${IQN}, portal: 10.0.0.1,3260]`);
  t.equal(msg.logoutOk(s), `Logout of [sid: 3, target: ${IQN}, portal: 10.0.0.1,3260] successful.`);
  t.equal(msg.logoutFailed(s), `Could not logout of [sid: 3, target: ${IQN}, portal: 10.0.0.1,3260].`);
  t.equal(msg.rescanning(s), `Rescanning session [sid: 3, target: ${IQN}, portal: 10.0.0.1,3260]`);
  t.equal(msg.newNode({ ...n, tpgt: -1 }), `New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=default] 10.0.0.1,3260,-1 ${IQN}] added`);
  t.match(msg.deleteInUse(n), /but a session is using it\. Logout session then rerun command to remove record\.$/);
  t.match(msg.badIface('iser0'), /^Could not read iface info for iser0\. Make sure a iface config/);
});
