/**
 * The iSCSI database of one node, under the root the node agent chose: node records, discovery records and
 * sessions in one JSON file (mode 0600: it holds CHAP secrets, as open-iscsi's node files do), changed only under
 * an exclusive lock so concurrent iscsiadm calls on the same root cannot interleave.
 */
import { constants, readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../../lib/wait.js';
import { ISCSI_ERR, IscsiadmError } from './iscsi-err.js';

export const VERSION = '2.1.8';

export interface NodeRecord {
  iqn: string;
  ip: string;
  port: number;
  tpgt: number;
  iface: string;
  /** Every node.* setting, in iscsiadm's names (node.session.auth.username, node.startup, ...). */
  settings: Record<string, string>;
}

export interface DiscoveryRecord {
  ip: string;
  port: number;
  settings: Record<string, string>;
}

export interface SessionLun {
  lun: number;
  /** The FUSE file qemu-storage-daemon exports the LUN as. */
  fuse: string;
  /** qemu block node name, for QMP. */
  node: string;
  loop?: string;
  /** maj:min of the FUSE mount, to recognise our loop device after the mount has gone. */
  fuseDev?: string;
  serial?: string;
  size?: number;
}

export interface SessionRecord {
  sid: number;
  iqn: string;
  ip: string;
  port: number;
  tpgt: number;
  iface: string;
  initiator: string;
  /** Directory holding this session's FUSE files, pid file and QMP socket. */
  dir: string;
  pid?: number;
  /** 'starting' until login completes; `owner` is the iscsiadm process doing it. */
  state: 'starting' | 'up';
  owner?: number;
  luns: SessionLun[];
}

export interface IscsiState {
  nextSid: number;
  nodes: NodeRecord[];
  discovery: DiscoveryRecord[];
  sessions: SessionRecord[];
}

/** Node settings as a fresh Debian open-iscsi install writes them (iscsid.conf defaults). */
export const NODE_DEFAULTS: readonly (readonly [string, string])[] = [
  ['node.startup', 'manual'],
  ['node.leading_login', 'No'],
  ['node.session.initial_cmdsn', '0'],
  ['node.session.initial_login_retry_max', '8'],
  ['node.session.xmit_thread_priority', '-20'],
  ['node.session.cmds_max', '128'],
  ['node.session.queue_depth', '32'],
  ['node.session.nr_sessions', '1'],
  ['node.session.auth.authmethod', 'None'],
  ['node.session.auth.username', ''],
  ['node.session.auth.password', ''],
  ['node.session.auth.username_in', ''],
  ['node.session.auth.password_in', ''],
  ['node.session.timeo.replacement_timeout', '120'],
  ['node.session.err_timeo.abort_timeout', '15'],
  ['node.session.err_timeo.lu_reset_timeout', '30'],
  ['node.session.err_timeo.tgt_reset_timeout', '30'],
  ['node.session.err_timeo.host_reset_timeout', '60'],
  ['node.session.iscsi.FastAbort', 'Yes'],
  ['node.session.iscsi.InitialR2T', 'No'],
  ['node.session.iscsi.ImmediateData', 'Yes'],
  ['node.session.iscsi.FirstBurstLength', '262144'],
  ['node.session.iscsi.MaxBurstLength', '16776192'],
  ['node.session.iscsi.DefaultTime2Retain', '0'],
  ['node.session.iscsi.DefaultTime2Wait', '2'],
  ['node.session.iscsi.MaxConnections', '1'],
  ['node.session.iscsi.MaxOutstandingR2T', '1'],
  ['node.session.iscsi.ERL', '0'],
  ['node.session.scan', 'auto'],
  ['node.conn[0].startup', 'manual'],
  ['node.conn[0].tcp.window_size', '524288'],
  ['node.conn[0].tcp.type_of_service', '0'],
  ['node.conn[0].timeo.logout_timeout', '15'],
  ['node.conn[0].timeo.login_timeout', '15'],
  ['node.conn[0].timeo.auth_timeout', '45'],
  ['node.conn[0].timeo.noop_out_interval', '5'],
  ['node.conn[0].timeo.noop_out_timeout', '5'],
  ['node.conn[0].iscsi.MaxXmitDataSegmentLength', '0'],
  ['node.conn[0].iscsi.MaxRecvDataSegmentLength', '262144'],
  ['node.conn[0].iscsi.HeaderDigest', 'None'],
  ['node.conn[0].iscsi.DataDigest', 'None'],
  ['node.conn[0].iscsi.IFMarker', 'No'],
  ['node.conn[0].iscsi.OFMarker', 'No'],
];

export const DISCOVERY_DEFAULTS: readonly (readonly [string, string])[] = [
  ['discovery.startup', 'manual'],
  ['discovery.type', 'sendtargets'],
  ['discovery.sendtargets.auth.authmethod', 'None'],
  ['discovery.sendtargets.auth.username', ''],
  ['discovery.sendtargets.auth.password', ''],
  ['discovery.sendtargets.auth.username_in', ''],
  ['discovery.sendtargets.auth.password_in', ''],
  ['discovery.sendtargets.timeo.login_timeout', '15'],
  ['discovery.sendtargets.use_discoveryd', 'No'],
  ['discovery.sendtargets.discoveryd_poll_inval', '30'],
  ['discovery.sendtargets.reopen_max', '5'],
  ['discovery.sendtargets.timeo.auth_timeout', '45'],
  ['discovery.sendtargets.timeo.active_timeout', '30'],
  ['discovery.sendtargets.iscsi.MaxRecvDataSegmentLength', '32768'],
];

export const emptyState = (): IscsiState => ({ nextSid: 1, nodes: [], discovery: [], sessions: [] });

/** Where each part of a root lives. */
export function layout(root: string) {
  return {
    db: join(root, 'var/lib/iscsi'),
    state: join(root, 'var/lib/iscsi/state.json'),
    lock: join(root, 'var/lib/iscsi/lock'),
    run: join(root, 'run/iscsi'),
    byPath: join(root, 'dev/disk/by-path'),
    byUuid: join(root, 'dev/disk/by-uuid'),
    initiatorName: join(root, 'etc/iscsi/initiatorname.iscsi'),
  };
}

export async function loadState(root: string): Promise<IscsiState> {
  let text: string;
  try {
    text = await readFile(layout(root).state, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new IscsiadmError(ISCSI_ERR.IDBM, [`Could not read the iSCSI database ${layout(root).state}: ${(e as Error).message}`], { cause: e });
  }
  try {
    return { ...emptyState(), ...(JSON.parse(text) as Partial<IscsiState>) };
  } catch (e) {
    throw new IscsiadmError(ISCSI_ERR.IDBM, [`The iSCSI database ${layout(root).state} is corrupt: ${(e as Error).message}`], { cause: e });
  }
}

export async function saveState(root: string, s: IscsiState): Promise<void> {
  const { db, state } = layout(root);
  await mkdir(db, { recursive: true, mode: 0o700 });
  const tmp = `${state}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 1), { mode: 0o600 });
  await rename(tmp, state);
}

/** Whether `pid` runs. A zombie does not: a daemonized process that exited waits for init to reap it. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // The state letter follows the parenthesised command name, which may itself contain ") ".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * Run `fn` holding the root's lock: a file created with O_EXCL that names its holder. A holder that died leaves
 * the file behind; the next caller sees the pid is gone and breaks the lock (renaming it away first and checking
 * it renamed the same file, so two callers cannot both break it and both win).
 */
export async function withLock<T>(root: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const { db, lock } = layout(root);
  await mkdir(db, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  let holder = '';
  for (;;) {
    try {
      const fh = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const seen = await stat(lock).catch(() => undefined);
    holder = (await readFile(lock, 'utf8').catch(() => '')).trim();
    const pid = Number(holder);
    // An empty file is a holder between create and write; only a long-empty one is abandoned.
    const abandoned = seen && (pid > 0 ? !pidAlive(pid) : Date.now() - seen.mtimeMs > 10_000);
    if (seen && abandoned) {
      const aside = `${lock}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
      if (await rename(lock, aside).then(() => true, () => false)) {
        const moved = await stat(aside).catch(() => undefined);
        // Not the file we judged: a live holder's fresh lock; put it back.
        if (moved && moved.ino !== seen.ino) await link(aside, lock).catch(() => undefined);
        await rm(aside, { force: true });
      }
      continue;
    }
    if (Date.now() > deadline) throw new IscsiadmError(ISCSI_ERR.IDBM, [`Could not lock the iSCSI database ${lock}: held by pid ${holder || '?'}`]);
    await sleep(10 + Math.random() * 40);
  }
  try {
    return await fn();
  } finally {
    const still = (await readFile(lock, 'utf8').catch(() => '')).trim();
    if (still === String(process.pid)) await rm(lock, { force: true });
  }
}
