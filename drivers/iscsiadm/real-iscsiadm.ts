/**
 * Whether a node can use open-iscsi instead of the userspace iscsiadm: the kernel has iscsi_tcp (loaded, or
 * loadable) and an iscsiadm binary from open-iscsi is on PATH. Our own bin/iscsiadm is a shell script, so "a
 * binary" (ELF) is what tells the two apart even when ours comes first on PATH.
 */
import { access, constants, open, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { run } from '../../lib/exec.js';

async function isElfExecutable(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
      return bytesRead === 4 && buffer.toString('latin1') === '\x7fELF';
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

/** The first open-iscsi iscsiadm on PATH, skipping scripts (such as the userspace one). */
export async function findRealIscsiadm(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'iscsiadm');
    if (await isElfExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** iscsi_tcp is loaded, or `modprobe -n` finds it. */
export async function kernelHasIscsiTcp(sysModule = '/sys/module/iscsi_tcp'): Promise<boolean> {
  if (await access(sysModule).then(() => true, () => false)) return true;
  const r = await run(['modprobe', '-n', 'iscsi_tcp'], { nothrow: true, timeoutMs: 10_000 }).catch(() => undefined);
  return r?.exitCode === 0;
}

export async function realIscsiadmAvailable(opts: { env?: NodeJS.ProcessEnv; sysModule?: string } = {}): Promise<boolean> {
  return (await kernelHasIscsiTcp(opts.sysModule)) && (await findRealIscsiadm(opts.env)) !== undefined;
}
