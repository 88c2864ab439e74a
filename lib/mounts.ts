/** The host's mount table, read the way kubelet's mount utilities read it. */
import { readFile } from 'node:fs/promises';

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

