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
