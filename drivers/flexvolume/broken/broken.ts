/**
 * Deliberately broken variants of the reference datera/iscsi driver, for proving that flex-sanity's checks can
 * fail. Each wraps the reference `callout()` and changes one behaviour from outside it (the reference driver has no
 * knobs for being wrong, and must not grow any):
 *
 * - reformat-always: the real call-outs, but its executable puts a blkid shim first on PATH that wipes the device's
 *   filesystem signature before the driver probes it, so every fresh mount of a volume formats it again (data is
 *   lost), in mountdevice and in mount (where provisioned secretRef volumes are attached and formatted).
 * - never-logout: the real call-outs, but its executable puts an iscsiadm shim first on PATH that drops --logout and
 *   `-o delete` (sessions stay up after unmountdevice and detach).
 * - ignores-fstype: formats and mounts xfs whatever kubernetes.io/fsType asks for.
 * - mounts-read-only: remounts read-only after every mountdevice and mount, even for readwrite=rw.
 * - noisy: prints a warning line on stderr besides the JSON answer (kubelet decodes both as one).
 * - keeps-acl: forgets the recorded credentials before teardown, so the node stays in the volume's ACL.
 *
 * And one that is NOT broken, kept beside them because it exercises the other side of the contract:
 * - attach-only: answers "Not supported" for mountdevice, unmountdevice, mount and unmount, which is valid (§6):
 *   kubelet formats and mounts the device, bind-mounts it into the pod, and unmounts it. flex-sanity must pass it.
 */

import { resolve } from 'node:path';
import { run } from '../../../lib/exec.js';
import { callout, type DriverStatus, type Env } from '../driver.js';
import { mountAt } from '../node-ops.js';
import { StateStore } from '../state.js';

export const VARIANTS = ['reformat-always', 'never-logout', 'ignores-fstype', 'mounts-read-only', 'noisy', 'keeps-acl', 'attach-only'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface BrokenAnswer {
  status: DriverStatus;
  /** Extra text the variant prints on stderr. */
  stderr?: string;
}

const isJson = (a: string | undefined) => a !== undefined && a.trimStart().startsWith('{');

export async function brokenCallout(variant: Variant, argv: string[], env: Env): Promise<BrokenAnswer> {
  const [cmd] = argv;
  switch (variant) {
    case 'ignores-fstype': {
      const rewritten = argv.map((a) => {
        if (!isJson(a)) return a;
        try {
          const o = JSON.parse(a) as Record<string, string>;
          return JSON.stringify({ ...o, 'kubernetes.io/fsType': 'xfs', fsType: 'xfs' });
        } catch {
          return a;
        }
      });
      return { status: await callout(rewritten, env) };
    }
    case 'mounts-read-only': {
      const status = await callout(argv, env);
      if (status.status === 'Success' && (cmd === 'mountdevice' || cmd === 'mount') && argv[1] && (await mountAt(resolve(argv[1])))) {
        await run(['mount', '-o', cmd === 'mount' ? 'remount,bind,ro' : 'remount,ro', resolve(argv[1])], { nothrow: true });
      }
      return { status };
    }
    case 'noisy':
      return { status: await callout(argv, env), stderr: `W1123 flex: datera/iscsi ${cmd ?? ''}: this is a warning nobody asked for\n` };
    case 'keeps-acl': {
      if ((cmd === 'unmountdevice' || cmd === 'unmount') && argv[1]) {
        const store = new StateStore(env.DATERA_FLEX_STATE_DIR || '/var/lib/datera-flex');
        const dir = resolve(argv[1]);
        const s = await store.find((x) => x.globalDir === dir || x.podDirs.includes(dir) || (x.stagingDir !== undefined && x.stagingDir === dir));
        if (s) {
          delete s.server;
          delete s.user;
          delete s.password;
          await store.save(s);
        }
      }
      return { status: await callout(argv, env) };
    }
    case 'attach-only':
      if (cmd === 'mountdevice' || cmd === 'unmountdevice' || cmd === 'mount' || cmd === 'unmount')
        return { status: { status: 'Not supported', message: `${cmd}: left to kubelet (attach-only variant)` } };
      return { status: await callout(argv, env) };
    case 'never-logout':
    case 'reformat-always':
      // The breakage is the shim its executable puts on PATH (iscsiadm that never logs out; blkid that wipes first).
      return { status: await callout(argv, env) };
  }
}

/** For the executables: which variant this is, from the name of the directory above datera~iscsi. */
export function variantOf(name: string): Variant | undefined {
  return (VARIANTS as readonly string[]).includes(name) ? (name as Variant) : undefined;
}

