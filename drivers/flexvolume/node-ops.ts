/**
 * What the driver does on the node: iscsiadm sessions, finding the LUN's block device, formatting and mounting.
 * Every command goes through lib/exec `run` (argv, never a shell line) with the driver's environment, so PATH
 * decides which iscsiadm runs (the real one on a node, the userspace one in tests).
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { HarnessError } from '../../lib/errors.js';
import { sleep } from '../../lib/wait.js';

export type Env = Record<string, string | undefined>;

/** Where iSCSI state and /dev/disk links live: DKC_ISCSI_ROOT (a test node's root) or the real root. */
export const devRoot = (env: Env) => env.DKC_ISCSI_ROOT || '/';

const opts = (env: Env, timeoutMs = 120_000) => ({ env: env as NodeJS.ProcessEnv, timeoutMs, nothrow: true });

/** This node's initiator IQN, from initiatorname.iscsi (as open-iscsi keeps it). */
export async function readInitiatorName(env: Env): Promise<string> {
  const file = join(devRoot(env), 'etc/iscsi/initiatorname.iscsi');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new HarnessError('BAD_CONFIG', `cannot read this node's initiator name from ${file}; install open-iscsi (it writes the file) or write "InitiatorName=iqn...." there`);
  }
  const m = /^\s*InitiatorName\s*=\s*(\S+)\s*$/m.exec(text);
  if (!m) throw new HarnessError('BAD_CONFIG', `${file} has no InitiatorName= line; write "InitiatorName=iqn...." there`);
  return m[1]!;
}

async function iscsiadm(env: Env, args: string[], okCodes: number[]): Promise<void> {
  const r = await run(['iscsiadm', ...args], opts(env));
  if (r.exitCode !== null && okCodes.includes(r.exitCode)) return;
  const tail = (r.stderr + r.stdout).trim().split('\n').slice(-4).join(' | ');
  throw new HarnessError('COMMAND_FAILED', `iscsiadm ${args.join(' ')} exited ${r.exitCode ?? r.signal}: ${tail || 'no output'}`);
}

/** Discovery and login on every portal. Exit 15 (session exists) counts as logged in. */
export async function iscsiLogin(env: Env, ips: string[], iqn: string): Promise<void> {
  for (const ip of ips) {
    const p = `${ip}:3260`;
    await iscsiadm(env, ['-m', 'discovery', '-t', 'sendtargets', '-p', p], [0]);
    await iscsiadm(env, ['-m', 'node', '-T', iqn, '-p', p, '--login'], [0, 15]);
  }
}

/** Logout and forget the node records on every portal. Exit 21 (no session / no records) counts as done. */
export async function iscsiLogout(env: Env, ips: string[], iqn: string): Promise<void> {
  for (const ip of ips) {
    const p = `${ip}:3260`;
    await iscsiadm(env, ['-m', 'node', '-T', iqn, '-p', p, '--logout'], [0, 21]);
    await iscsiadm(env, ['-m', 'node', '-T', iqn, '-p', p, '-o', 'delete'], [0, 21]);
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * The LUN's block device: /dev/disk/by-uuid/<volume uuid> (the Datera udev rule keys it on the unit serial), else
 * /dev/disk/by-path/ip-<ip>:3260-iscsi-<iqn>-lun-<n> on any portal and any LUN (Datera serves LUN 0, the mock LUN 1).
 */
export async function findDevice(env: Env, ips: string[], iqn: string, volumeUuid?: string): Promise<string | undefined> {
  const root = devRoot(env);
  if (volumeUuid) {
    const byUuid = join(root, 'dev/disk/by-uuid', volumeUuid);
    if (await exists(byUuid)) return realpath(byUuid);
  }
  let names: string[] = [];
  try {
    names = await readdir(join(root, 'dev/disk/by-path'));
  } catch {
    return undefined;
  }
  for (const ip of ips) {
    const prefix = `ip-${ip}:3260-iscsi-${iqn}-lun-`;
    const hit = names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))).sort()[0];
    if (hit && (await exists(join(root, 'dev/disk/by-path', hit)))) return realpath(join(root, 'dev/disk/by-path', hit));
  }
  return undefined;
}

export async function waitForDevice(what: () => Promise<string | undefined>, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    const d = await what();
    if (d || Date.now() >= deadline) return d;
    await sleep(wait);
  }
}

export interface MountInfo {
  target: string;
  source: string;
  fstype: string;
  options: string;
}

/** The mount at exactly `dir`, if any. */
export async function mountAt(dir: string): Promise<MountInfo | undefined> {
  const resolved = await realpath(dir).catch(() => dir);
  const r = await run(['findmnt', '-n', '-J', '-o', 'TARGET,SOURCE,FSTYPE,OPTIONS', '--mountpoint', resolved], { nothrow: true, timeoutMs: 30_000 });
  if (r.exitCode !== 0 || !r.stdout.trim()) return undefined;
  const fs = (JSON.parse(r.stdout) as { filesystems?: MountInfo[] }).filesystems ?? [];
  return fs[fs.length - 1];
}

/** The filesystem type blkid finds on `device`, "" when it finds nothing at all. Anything else it finds is kept. */
export async function probeFs(device: string): Promise<string> {
  const r = await run(['blkid', '-p', '-o', 'export', device], { nothrow: true, timeoutMs: 60_000 });
  if (r.exitCode === 2) return '';
  if (r.exitCode !== 0) throw new HarnessError('COMMAND_FAILED', `blkid -p ${device} exited ${r.exitCode}: ${r.stderr.trim()}; not formatting a device that cannot be probed`);
  const type = /^TYPE=(.*)$/m.exec(r.stdout)?.[1];
  if (type) return type;
  const pt = /^PTTYPE=(.*)$/m.exec(r.stdout)?.[1];
  throw new HarnessError('BAD_INPUT', `${device} holds ${pt ? `a ${pt} partition table` : 'data blkid recognises'} but no filesystem; refusing to format it (that would destroy data)`);
}

async function must(argv: string[], timeoutMs = 300_000): Promise<void> {
  await run(argv, { timeoutMs });
}

/** Format `device` only if blkid finds nothing on it (never reformat), then mount it at `dir`. Idempotent. */
export async function formatAndMount(device: string, dir: string, fsType: string, readOnly: boolean): Promise<void> {
  const m = await mountAt(dir);
  if (m) {
    if (await sameDevice(m.source, device)) return;
    throw new HarnessError('BAD_INPUT', `${dir} is already a mount of ${m.source}, not ${device}; unmount it first`);
  }
  const found = await probeFs(device);
  if (!found) {
    if (readOnly) throw new HarnessError('BAD_INPUT', `${device} has no filesystem and the volume is read-only (kubernetes.io/readwrite=ro); mount it read-write once so it can be formatted`);
    await must(/^ext[234]$/.test(fsType) ? [`mkfs.${fsType}`, '-F', '-q', device] : fsType === 'xfs' ? ['mkfs.xfs', '-q', device] : [`mkfs.${fsType}`, device]);
  } else if (found !== fsType) {
    throw new HarnessError('BAD_INPUT', `${device} already holds a ${found} filesystem but fsType is ${fsType}; set fsType to ${found} (the driver never reformats)`);
  }
  await must(['mount', '-t', fsType, '-o', readOnly ? 'ro' : 'rw', device, dir], 120_000);
}

async function sameDevice(source: string, device: string): Promise<boolean> {
  const a = await realpath(source.replace(/\[.*\]$/, '')).catch(() => source);
  const b = await realpath(device).catch(() => device);
  return a === b;
}

/** Bind-mount `src` at `dst` (read-only through a remount, the only way a bind becomes ro). Idempotent. */
export async function bindMount(src: string, dst: string, readOnly: boolean): Promise<void> {
  if (await mountAt(dst)) return;
  await must(['mount', '--bind', src, dst], 60_000);
  if (readOnly) await must(['mount', '-o', 'remount,bind,ro', dst], 60_000);
}

/** Unmount `dir` if something is mounted there. */
export async function unmountIfMounted(dir: string): Promise<boolean> {
  if (!(await mountAt(dir))) return false;
  await must(['umount', dir], 120_000);
  return true;
}
