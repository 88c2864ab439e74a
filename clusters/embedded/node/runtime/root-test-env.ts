/**
 * Shared by the runtime's root tests: what to skip and why, and the leak check every test ends with.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { which } from '../../../../lib/exec.js';
import { run } from '../../../../lib/exec.js';

/** Why the root tests cannot run here, or undefined when they can. */
export async function missingFacility(tools: string[] = []): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, mounts)';
  for (const tool of ['ip', 'unshare', 'nsenter', 'chroot', 'setpriv', 'busybox', ...tools]) {
    if (!(await which(tool))) return `needs ${tool} on PATH`;
  }
  if (!existsSync('/run/netns') && (await run(['ip', 'netns', 'list'], { nothrow: true })).exitCode !== 0) return 'ip netns does not work here';
  return undefined;
}

/** Things left behind that mention `marker` (a temp dir or cluster id): processes, mounts, network namespaces. */
export async function leftovers(marker: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    // Container processes carry the marker in their environment (tests set it), setup processes in argv.
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (cmd.includes(marker) || env.includes(marker)) out.push(`process ${pid}: ${cmd}`);
  }
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const l of mounts.split('\n')) if (l.includes(marker)) out.push(`mount: ${l}`);
  const ns = await run(['ip', 'netns', 'list'], { nothrow: true });
  for (const l of ns.stdout.split('\n')) if (l.includes(marker)) out.push(`netns: ${l}`);
  return out;
}
