/** The host's mount table, read the way kubelet's mount utilities read it. */
import { mkdir, readFile } from 'node:fs/promises';
import { run } from './exec.js';

/** One mount from /proc/mounts, octal escapes decoded. */
export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/mounts', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [source = '', target = '', fstype = '', options = ''] = l.split(' ');
      return { source: unescape(source), target: unescape(target), fstype, options: options.split(',') };
    });
}

export const under = (p: string, root: string) => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);

export async function mountAt(dir: string): Promise<MountEntry | undefined> {
  const all = (await readMounts()).filter((m) => m.target === dir);
  return all[all.length - 1];
}


/** The mkfs argv kubelet's mounter uses per filesystem (ext4 when none is given). */
export function mkfsArgv(fsType: string, device: string): string[] {
  const t = fsType || 'ext4';
  return /^ext[234]$/.test(t) ? [`mkfs.${t}`, '-F', '-q', device] : t === 'xfs' ? ['mkfs.xfs', '-q', device] : [`mkfs.${t}`, device];
}

/** kubelet's SafeFormatAndMount: format only when blkid finds nothing on the device, then mount. */
export async function safeFormatAndMount(device: string, dir: string, fsType: string, ro: boolean): Promise<void> {
  const probe = await run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', device], { nothrow: true });
  if (probe.exitCode === 2) await run(mkfsArgv(fsType, device), { timeoutMs: 300_000 });
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await run(['mount', ...(fsType ? ['-t', fsType] : []), '-o', ro ? 'ro' : 'rw', device, dir]);
}

interface LosetupJson {
  loopdevices?: { name: string; 'back-file'?: string | null; 'back-maj:min'?: string | null }[];
}

/**
 * The loop devices `losetup -J -l -O NAME,BACK-FILE,BACK-MAJ:MIN` lists that are bound to a file under `root`, or to
 * a file on a FUSE mount under it (by the mount's maj:min, from /proc/self/mountinfo). Once such a FUSE mount is
 * lazily unmounted the kernel shows the loop's backing file as `/` and no path leads to it any more: find loops
 * before unmounting anything.
 */
export function loopsOver(losetupJson: string, mountinfo: string, root: string): string[] {
  let devices: NonNullable<LosetupJson['loopdevices']>;
  try {
    devices = (JSON.parse(losetupJson || '{}') as LosetupJson).loopdevices ?? [];
  } catch {
    return [];
  }
  const fuseDevs = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const fstype = right?.split(' ')[0] ?? '';
    if (f.length >= 5 && fstype.startsWith('fuse') && under(unescape(f[4]!), root)) fuseDevs.add(f[2]!);
  }
  return devices
    .filter((d) => {
      const back = d['back-file']?.replace(/ \(deleted\)$/, '') ?? '';
      return (back && back !== '/' && under(back, root)) || fuseDevs.has((d['back-maj:min'] ?? '').trim());
    })
    .map((d) => d.name);
}

/** Loop devices over files under `root` (see loopsOver), as they are now. */
export async function loopsUnder(root: string): Promise<string[]> {
  const r = await run(['losetup', '-J', '-l', '-O', 'NAME,BACK-FILE,BACK-MAJ:MIN'], { nothrow: true });
  return loopsOver(r.exitCode === 0 ? r.stdout : '', await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''), root);
}

/**
 * Detach the loop devices over files under `root`, before unmounting anything there. A loop device still in use
 * (a filesystem on it is mounted) is only marked autoclear and goes once that is unmounted.
 */
export async function detachLoopsUnder(root: string): Promise<string[]> {
  const loops = await loopsUnder(root);
  for (const l of loops) await run(['losetup', '-d', l], { nothrow: true });
  return loops;
}
