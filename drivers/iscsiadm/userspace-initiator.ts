/**
 * A userspace iSCSI initiator for nodes without iscsi_tcp: libiscsi's iscsi-ls for SendTargets and LUN listing,
 * one qemu-storage-daemon per session exporting each disk LUN as a FUSE file, a loop device on each, and the
 * udev-style links drivers wait for (`dev/disk/by-path/ip-<portal>-iscsi-<iqn>-lun-<n>`, and
 * `dev/disk/by-uuid/<unit serial>` as the old Datera udev rule made), all under the node's root.
 *
 * CHAP passwords reach libiscsi through LIBISCSI_CHAP_* in the environment and qemu through a 0600 secret file
 * removed once the daemon is up: never argv, never logs.
 */
import { mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunResult } from '../../lib/exec.js';
import { waitFor } from '../../lib/wait.js';
import { hostPort } from './format.js';
import type { Chap, DiscoveredTarget, Initiator, LoginOptions } from './initiator.js';
import { ISCSI_ERR, IscsiadmError, codeForInitiatorMessage } from './iscsi-err.js';
import { qmp } from './qmp.js';
import { layout, pidAlive, type SessionLun, type SessionRecord } from './state.js';

const TOOL_TIMEOUT_MS = 30_000;

/** `Target:<iqn> Portal:<ip>:<port>,<tpgt>` lines, each followed (with -s) by `Lun:<n> Type:<type>` lines. */
export function parseIscsiLs(stdout: string): { target: DiscoveredTarget; luns: { lun: number; type: string }[] }[] {
  const out: { target: DiscoveredTarget; luns: { lun: number; type: string }[] }[] = [];
  for (const line of stdout.split('\n')) {
    const t = /^Target:(\S+) Portal:(?:\[([^\]]+)\]|([^:\s]+)):(\d+),(\d+)/.exec(line);
    if (t) {
      out.push({ target: { iqn: t[1]!, ip: (t[2] ?? t[3])!, port: Number(t[4]), tpgt: Number(t[5]) }, luns: [] });
      continue;
    }
    const l = /^Lun:(\d+)\s+Type:(\S+)/.exec(line);
    if (l && out.length) out.at(-1)!.luns.push({ lun: Number(l[1]), type: l[2]! });
  }
  return out;
}

/** The mount points in a mountinfo text, with their maj:min (octal escapes such as \040 decoded). */
export function parseMountinfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.set(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), f[2]!);
  }
  return out;
}

/** libiscsi's failure text without qemu's echo of the option string (which names the user). */
export function initiatorDetail(stderr: string): string {
  const line = stderr.trim().split('\n').filter(Boolean).at(-1) ?? '';
  const i = line.indexOf('iSCSI:');
  return (i >= 0 ? line.slice(i) : line.replace(/^qemu-storage-daemon: (--\S+ \S+: )?/, '')).trim();
}

export class UserspaceInitiator implements Initiator {
  private readonly paths;
  constructor(
    readonly root: string,
    private readonly baseEnv: NodeJS.ProcessEnv = process.env,
  ) {
    this.paths = layout(root);
  }

  private env(chap?: Chap): NodeJS.ProcessEnv {
    const env = { ...this.baseEnv };
    for (const k of Object.keys(env)) if (k.startsWith('LIBISCSI_CHAP_')) delete env[k];
    if (chap) {
      env.LIBISCSI_CHAP_USERNAME = chap.username;
      env.LIBISCSI_CHAP_PASSWORD = chap.password;
    }
    return env;
  }

  private tool(argv: string[], chap?: Chap, timeoutMs = TOOL_TIMEOUT_MS): Promise<RunResult> {
    return run(argv, { env: this.env(chap), nothrow: true, timeoutMs, secrets: chap ? [chap.password] : [] });
  }

  async discover(portal: { ip: string; port: number }, initiatorName: string, chap?: Chap): Promise<DiscoveredTarget[]> {
    const r = await this.tool(['iscsi-ls', '-i', initiatorName, `iscsi://${hostPort(portal.ip, portal.port)}`], chap);
    if (r.exitCode !== 0) {
      const detail = r.stderr.trim().split('\n').at(-1) ?? '';
      const reason = /socket error (.*?)\(\d+\)/.exec(detail)?.[1]?.trim() ?? detail;
      throw new IscsiadmError(codeForInitiatorMessage(detail || 'connection failed'), [`cannot make connection to ${portal.ip}: ${reason || 'connection failed'}`]);
    }
    return parseIscsiLs(r.stdout).map((x) => x.target);
  }

  private linksFor(s: SessionRecord, l: SessionLun): string[] {
    const links = [join(this.paths.byPath, `ip-${hostPort(s.ip, s.port)}-iscsi-${s.iqn}-lun-${l.lun}`)];
    if (l.serial && /^[\w.:-]+$/.test(l.serial)) links.push(join(this.paths.byUuid, l.serial));
    return links;
  }

  private async setLink(path: string, target: string): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, path);
  }

  async login(s: SessionRecord, o: LoginOptions): Promise<void> {
    try {
      await this.attach(s, o);
    } catch (e) {
      await this.teardown(s).catch(() => undefined);
      if (e instanceof IscsiadmError) throw e;
      throw new IscsiadmError(ISCSI_ERR.LOGIN, [(e as Error).message], { cause: e });
    }
  }

  private async attach(s: SessionRecord, o: LoginOptions): Promise<void> {
    await mkdir(s.dir, { recursive: true, mode: 0o700 });
    const url = `iscsi://${hostPort(s.ip, s.port)}`;
    const ls = await this.tool(['iscsi-ls', '-s', '-i', s.initiator, url], o.chap, o.timeoutMs);
    const mine = parseIscsiLs(ls.stdout).find((x) => x.target.iqn === s.iqn);
    if (!mine?.luns.length) {
      // tgt hides targets an initiator may not use, and iscsi-ls lists no LUNs when its login fails: a login
      // attempt gets the target's own answer.
      const inq = await this.tool(['iscsi-inq', '-i', s.initiator, `${url}/${s.iqn}/0`], o.chap, o.timeoutMs);
      const detail = initiatorDetail(inq.stderr || ls.stderr) || 'target not reported by SendTargets';
      if (inq.exitCode !== 0 || ls.exitCode !== 0) throw new IscsiadmError(codeForInitiatorMessage(detail), [detail]);
    }
    const disks = (mine?.luns ?? []).filter((l) => l.type === 'DIRECT_ACCESS');
    for (const d of disks) {
      const inq = await this.tool(['iscsi-inq', '-i', s.initiator, '-e', '1', '-c', '128', `${url}/${s.iqn}/${d.lun}`], o.chap, o.timeoutMs);
      const serial = /Unit Serial Number:\[?(.*?)\]?\s*$/im.exec(inq.stdout)?.[1];
      const lun: SessionLun = { lun: d.lun, fuse: join(s.dir, `lun-${d.lun}`), node: `lun${d.lun}` };
      if (serial) lun.serial = serial;
      s.luns.push(lun);
      await writeFile(lun.fuse, '', { mode: 0o600 });
    }
    await o.persist();
    if (!disks.length) return;

    const secret = join(s.dir, 'chap.secret');
    const argv = ['qemu-storage-daemon'];
    if (o.chap) {
      await writeFile(secret, o.chap.password, { mode: 0o600 });
      argv.push('--object', `secret,id=chap0,file=${secret},format=raw`);
    }
    for (const l of s.luns) {
      const auth = o.chap ? `,user=${o.chap.username},password-secret=chap0` : '';
      argv.push(
        '--blockdev',
        `driver=iscsi,node-name=${l.node},transport=tcp,portal=${hostPort(s.ip, s.port)},target=${s.iqn},lun=${l.lun},initiator-name=${s.initiator}${auth},cache.direct=off`,
        '--export',
        `type=fuse,id=exp${l.lun},node-name=${l.node},mountpoint=${l.fuse},writable=on`,
      );
    }
    argv.push('--chardev', `socket,id=qmp,path=${join(s.dir, 'qmp.sock')},server=on,wait=off`, '--monitor', 'chardev=qmp,mode=control');
    argv.push('--daemonize', '--pidfile', join(s.dir, 'qsd.pid'));
    const r = await this.tool(argv, o.chap, o.timeoutMs).finally(() => rm(secret, { force: true }));
    if (r.exitCode !== 0) {
      const detail = r.signal ? `login timed out after ${o.timeoutMs} ms` : initiatorDetail(r.stderr);
      throw new IscsiadmError(r.signal ? ISCSI_ERR.TRANS_TIMEOUT : codeForInitiatorMessage(detail), [detail]);
    }
    s.pid = Number((await readFile(join(s.dir, 'qsd.pid'), 'utf8')).trim());
    await o.persist();

    const mounts = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
    for (const l of s.luns) {
      const dev = mounts.get(l.fuse);
      if (dev) l.fuseDev = dev;
      l.loop = (await run(['losetup', '-f', '--show', l.fuse])).stdout.trim();
      l.size = (await stat(l.fuse)).size;
      await o.persist();
      for (const link of this.linksFor(s, l)) await this.setLink(link, l.loop);
    }
  }

  private async mounts(): Promise<Map<string, string>> {
    return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  }

  private async isOurDaemon(pid: number | undefined, dir: string): Promise<boolean> {
    if (!pid || !pidAlive(pid)) return false;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.includes(`${dir}/`);
  }

  private async backingFile(loop: string): Promise<string | undefined> {
    return (await readFile(`/sys/block/${loop.replace(/^\/dev\//, '')}/loop/backing_file`, 'utf8').catch(() => undefined))?.trim();
  }

  /** Whether `l.loop` is still bound to our FUSE file, also after the mount has gone (then by the mount's maj:min). */
  private async ownsLoop(l: SessionLun): Promise<boolean> {
    if (!l.loop) return false;
    const back = await this.backingFile(l.loop);
    if (back === undefined) return false;
    if (back === l.fuse) return true;
    if (!l.fuseDev) return false;
    const r = await run(['losetup', '-l', '-J', '-O', 'NAME,BACK-INO,BACK-MAJ:MIN', l.loop], { nothrow: true });
    try {
      const dev = (JSON.parse(r.stdout) as { loopdevices: { 'back-maj:min': string }[] }).loopdevices[0]?.['back-maj:min']?.trim();
      return dev === l.fuseDev;
    } catch {
      return false;
    }
  }

  async alive(s: SessionRecord): Promise<boolean> {
    if (s.state !== 'up') return false;
    if (!s.luns.length) return true;
    if (!(await this.isOurDaemon(s.pid, s.dir))) return false;
    const mounts = await this.mounts();
    for (const l of s.luns) if (!mounts.has(l.fuse) || !l.loop || (await this.backingFile(l.loop)) !== l.fuse) return false;
    return true;
  }

  /** Loop devices still bound to a file of this session, recorded or not (a login killed before it saved one). */
  private async loopsIn(dir: string): Promise<string[]> {
    const names = (await readdir('/sys/block').catch(() => [] as string[])).filter((n) => n.startsWith('loop'));
    const found: string[] = [];
    for (const n of names) if ((await this.backingFile(n))?.startsWith(`${dir}/`)) found.push(`/dev/${n}`);
    return found;
  }

  async teardown(s: SessionRecord): Promise<void> {
    for (const l of s.luns) {
      for (const link of this.linksFor(s, l)) if (l.loop && (await readlink(link).catch(() => '')) === l.loop) await rm(link, { force: true });
      // A loop still mounted is only marked autoclear by the kernel and goes when unmounted.
      if (await this.ownsLoop(l)) await run(['losetup', '-d', l.loop!], { nothrow: true });
    }
    for (const loop of await this.loopsIn(s.dir)) await run(['losetup', '-d', loop], { nothrow: true });
    const pid = s.pid ?? Number((await readFile(join(s.dir, 'qsd.pid'), 'utf8').catch(() => '')).trim());
    if (await this.isOurDaemon(pid, s.dir)) {
      process.kill(pid, 'SIGTERM');
      const gone = await waitFor(`qemu-storage-daemon ${pid} to exit`, async () => (pidAlive(pid) ? undefined : true), { timeoutMs: 5000 }).catch(() => false);
      if (!gone && pidAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        await waitFor(`qemu-storage-daemon ${pid} to die`, async () => (pidAlive(pid) ? undefined : true), { timeoutMs: 5000 }).catch(() => undefined);
      }
    }
    // A daemon that was killed hard leaves its FUSE mounts behind (ENOTCONN).
    const mounts = await this.mounts();
    for (const l of s.luns) {
      if (!mounts.has(l.fuse)) continue;
      const r = await run(['fusermount3', '-u', '-z', l.fuse], { nothrow: true }).catch(() => undefined);
      if (r?.exitCode !== 0) await run(['umount', '-l', l.fuse], { nothrow: true });
    }
    await rm(s.dir, { recursive: true, force: true });
  }

  async rescan(s: SessionRecord, chap?: Chap): Promise<void> {
    const url = `iscsi://${hostPort(s.ip, s.port)}/${s.iqn}`;
    for (const l of s.luns) {
      if (!l.loop) continue;
      const r = await this.tool(['iscsi-readcapacity16', '-i', s.initiator, `${url}/${l.lun}`], chap);
      const size = Number(/Total size:(\d+)/.exec(r.stdout)?.[1]);
      if (!size || size === l.size) continue;
      await qmp(join(s.dir, 'qmp.sock'), 'block_resize', { 'node-name': l.node, size });
      // The FUSE attribute cache keeps the old size for up to a second.
      await waitFor(`${l.fuse} to show ${size} bytes`, async (seen) => {
        const now = (await stat(l.fuse)).size;
        seen(`${now} bytes`);
        return now === size ? true : undefined;
      }, { timeoutMs: 10_000, intervalMs: 200 });
      await run(['losetup', '-c', l.loop]);
      l.size = size;
    }
  }

  async relink(sessions: readonly SessionRecord[]): Promise<void> {
    const ours = new Set(sessions.flatMap((s) => s.luns.map((l) => l.loop)).filter(Boolean));
    for (const s of sessions) {
      for (const l of s.luns) {
        if (!l.loop) continue;
        for (const link of this.linksFor(s, l)) {
          const now = await readlink(link).catch(() => undefined);
          if (now === l.loop || (now && ours.has(now))) continue;
          await this.setLink(link, l.loop);
        }
      }
    }
  }
}
