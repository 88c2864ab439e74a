/**
 * What iscsiadm prints, line for line as open-iscsi 2.1 does (usr/iscsiadm.c, session_info.c, idbm.c), because
 * drivers parse it: `ip:port,tpgt iqn` from discovery, `tcp: [sid] ip:port,tpgt iqn (non-flash)` from session mode,
 * "Attached scsi disk X" from -P 3, record dumps from -o show.
 */
import { DISCOVERY_DEFAULTS, NODE_DEFAULTS, VERSION, type DiscoveryRecord, type NodeRecord, type SessionRecord } from './state.js';

/** `ip:port`, with brackets for IPv6. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function nodeFlat(n: { ip: string; port: number; tpgt: number; iqn: string }): string {
  return `${hostPort(n.ip, n.port)},${n.tpgt} ${n.iqn}`;
}

/** `-m node -P 1`: records grouped by target. */
export function nodeTree(nodes: readonly NodeRecord[]): string[] {
  const out: string[] = [];
  let last: string | undefined;
  for (const n of [...nodes].sort((a, b) => a.iqn.localeCompare(b.iqn))) {
    if (n.iqn !== last) out.push(`Target: ${n.iqn}`);
    last = n.iqn;
    out.push(`\tPortal: ${hostPort(n.ip, n.port)},${n.tpgt}`, `\t\tIface Name: ${n.iface}`);
  }
  return out;
}

const SECRET = /\.password(_in)?$/;
const shown = (key: string, v: string | undefined, show: boolean) => (v ? (SECRET.test(key) && !show ? '********' : v) : '<empty>');

/** `-m node -o show`: one record. Passwords are masked unless -S, as open-iscsi does. */
export function nodeRecord(n: NodeRecord, show: boolean): string[] {
  const s = n.settings;
  const line = (k: string, v = s[k]) => `${k} = ${shown(k, v, show)}`;
  const known = new Set<string>(NODE_DEFAULTS.map(([k]) => k));
  const session = NODE_DEFAULTS.filter(([k]) => k.startsWith('node.session.'));
  const conn = NODE_DEFAULTS.filter(([k]) => k.startsWith('node.conn[0].'));
  const discovery = ['node.discovery_address', 'node.discovery_port', 'node.discovery_type'];
  for (const k of discovery) known.add(k);
  const extra = Object.keys(s).filter((k) => !known.has(k)).sort();
  return [
    `# BEGIN RECORD ${VERSION}`,
    line('node.name', n.iqn),
    line('node.tpgt', String(n.tpgt)),
    line('node.startup'),
    line('node.leading_login'),
    line('iface.iscsi_ifacename', n.iface),
    line('iface.net_ifacename', ''),
    line('iface.ipaddress', ''),
    line('iface.hwaddress', ''),
    line('iface.transport_name', 'tcp'),
    line('iface.initiatorname', ''),
    ...discovery.map((k) => line(k)),
    ...session.map(([k]) => line(k)),
    line('node.conn[0].address', n.ip),
    line('node.conn[0].port', String(n.port)),
    ...conn.map(([k]) => line(k)),
    ...extra.map((k) => line(k)),
    '# END RECORD',
  ];
}

export function discoveryFlat(d: DiscoveryRecord): string {
  return `${hostPort(d.ip, d.port)} via sendtargets`;
}

export function discoveryRecord(d: DiscoveryRecord, show: boolean): string[] {
  const line = (k: string, v = d.settings[k]) => `${k} = ${shown(k, v, show)}`;
  const [startup, type, ...rest] = DISCOVERY_DEFAULTS.map(([k]) => k);
  return [
    `# BEGIN RECORD ${VERSION}`,
    line(startup!),
    line(type!),
    line('discovery.sendtargets.address', d.ip),
    line('discovery.sendtargets.port', String(d.port)),
    ...rest.map((k) => line(k)),
    '# END RECORD',
  ];
}

export function sessionFlat(s: SessionRecord): string {
  return `tcp: [${s.sid}] ${hostPort(s.ip, s.port)},${s.tpgt} ${s.iqn} (non-flash)`;
}

/** `-m session -P 1|2|3`. The SCSI host number is the sid: there is no SCSI host, and it is unique per node. */
export function sessionTree(sessions: readonly SessionRecord[], level: number): string[] {
  const out: string[] = level >= 3 ? ['iSCSI Transport Class version 2.0-870', `version ${VERSION}`] : [];
  let last: SessionRecord | undefined;
  for (const s of sessions) {
    if (!last || last.iqn !== s.iqn) {
      out.push(`Target: ${s.iqn} (non-flash)`);
      last = undefined;
    }
    if (!last || last.ip !== s.ip || last.port !== s.port) {
      out.push(`\tCurrent Portal: ${hostPort(s.ip, s.port)},${s.tpgt}`, `\tPersistent Portal: ${hostPort(s.ip, s.port)},${s.tpgt}`);
    } else out.push('');
    out.push(
      '\t\t**********',
      '\t\tInterface:',
      '\t\t**********',
      `\t\tIface Name: ${s.iface}`,
      '\t\tIface Transport: tcp',
      `\t\tIface Initiatorname: ${s.initiator}`,
      '\t\tIface IPaddress: <empty>',
      '\t\tIface HWaddress: default',
      '\t\tIface Netdev: default',
      `\t\tSID: ${s.sid}`,
      '\t\tiSCSI Connection State: LOGGED IN',
      '\t\tiSCSI Session State: LOGGED_IN',
      '\t\tInternal iscsid Session State: NO CHANGE',
    );
    if (level >= 2) {
      out.push(
        '\t\t************************',
        '\t\tNegotiated iSCSI params:',
        '\t\t************************',
        '\t\tHeaderDigest: None',
        '\t\tDataDigest: None',
        '\t\tMaxRecvDataSegmentLength: 262144',
        '\t\tMaxXmitDataSegmentLength: 262144',
        '\t\tFirstBurstLength: 65536',
        '\t\tMaxBurstLength: 262144',
        '\t\tImmediateData: Yes',
        '\t\tInitialR2T: Yes',
        '\t\tMaxOutstandingR2T: 1',
      );
    }
    if (level >= 3) {
      out.push('\t\t************************', '\t\tAttached SCSI devices:', '\t\t************************', `\t\tHost Number: ${s.sid}\tState: running`);
      for (const l of s.luns) {
        out.push(`\t\tscsi${s.sid} Channel 00 Id 0 Lun: ${l.lun}`);
        if (l.loop) out.push(`\t\t\tAttached scsi disk ${l.loop.replace(/^\/dev\//, '')}\t\tState: running`);
      }
    }
    last = s;
  }
  return out;
}

export function ifaceFlat(): string {
  return 'default tcp,<empty>,<empty>,<empty>,<empty>';
}

export function ifaceRecord(initiator: string | undefined): string[] {
  return [
    `# BEGIN RECORD ${VERSION}`,
    'iface.iscsi_ifacename = default',
    'iface.net_ifacename = <empty>',
    'iface.ipaddress = <empty>',
    'iface.prefix_len = 0',
    'iface.hwaddress = <empty>',
    'iface.transport_name = tcp',
    `iface.initiatorname = ${initiator || '<empty>'}`,
    'iface.state = <empty>',
    'iface.vlan_id = 0',
    'iface.vlan_priority = 0',
    'iface.vlan_state = <empty>',
    'iface.iface_num = 0',
    'iface.mtu = 0',
    'iface.port = 0',
    '# END RECORD',
  ];
}

type Target = { iface: string; iqn: string; ip: string; port: number };
const where = (t: Target) => `[iface: ${t.iface}, target: ${t.iqn}, portal: ${t.ip},${t.port}]`;
const sessionWhere = (s: SessionRecord) => `[sid: ${s.sid}, target: ${s.iqn}, portal: ${s.ip},${s.port}]`;

export const msg = {
  loggingIn: (t: Target) => `Logging in to ${where(t)}`,
  loginOk: (t: Target) => `Login to ${where(t)} successful.`,
  loginFailed: (t: Target) => `Could not login to ${where(t)}.`,
  initiatorError: (code: number, text: string) => `initiator reported error (${code} - ${text})`,
  alreadyPresent: (t: Target) => `${t.iface}: 1 session requested, but 1 already present.`,
  loggingOut: (s: SessionRecord) => `Logging out of session ${sessionWhere(s)}`,
  logoutOk: (s: SessionRecord) => `Logout of ${sessionWhere(s)} successful.`,
  logoutFailed: (s: SessionRecord) => `Could not logout of ${sessionWhere(s)}.`,
  rescanning: (s: SessionRecord) => `Rescanning session ${sessionWhere(s)}`,
  newNode: (n: { iface: string; ip: string; port: number; tpgt: number; iqn: string }) =>
    `New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=${n.iface}] ${n.ip},${n.port},${n.tpgt} ${n.iqn}] added`,
  deleteInUse: (t: Target) =>
    `This command will remove the record ${where(t)}, but a session is using it. Logout session then rerun command to remove record.`,
  badIface: (name: string) =>
    `Could not read iface info for ${name}. Make sure a iface config with the file name and iface.iscsi_ifacename ${name} is in /etc/iscsi/ifaces.`,
};

export const HELP = `iscsiadm -m discoverydb [-hV] [-d debug_level] [-P printlevel] [-t type -p ip:port -I ifaceN ... [-Dl]] | [[-p ip:port -t type] [-o operation] [-n name] [-v value] [-lD]]
iscsiadm -m discovery [-hV] [-d debug_level] [-P printlevel] [-t type -p ip:port -I ifaceN ... [-l]] | [[-p ip:port] [-l | -D]]
iscsiadm -m node [-hV] [-d debug_level] [-P printlevel] [-L all,manual,automatic,onboot] [-U all,manual,automatic,onboot] [-S] [[-T targetname -p ip:port -I ifaceN] [-l | -u | -R | -s]] [[-o operation] [-n name] [-v value]]
iscsiadm -m session [-hV] [-d debug_level] [-P printlevel] [-r sessionid | sysfsdir [-R | -u | -s] [-o operation] [-n name] [-v value]]
iscsiadm -m iface [-hV] [-d debug_level] [-P printlevel] [-I ifacename] [[-o operation] [-n name] [-v value]]

This is the userspace iscsiadm of datera-k8s-conformance: sessions are qemu-storage-daemon (libiscsi) FUSE exports
on loop devices, and state lives under $DKC_ISCSI_ROOT.`;
