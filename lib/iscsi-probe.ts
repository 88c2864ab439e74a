/**
 * A real userspace iSCSI initiator for checks: libiscsi's iscsi-ls for SendTargets discovery, and qemu-io
 * (libiscsi block driver) to write and verify byte patterns on a LUN. No kernel initiator needed.
 */
import { run } from './exec.js';

export interface LunAddress {
  /** "ip:port" */
  portal: string;
  iqn: string;
  lun: number;
  /** Initiator name to log in as (the target's ACL decides). */
  initiator: string;
}

export type ProbeOutcome = 'ok' | 'mismatch' | 'refused';

const imageOpts = (a: LunAddress) =>
  `driver=iscsi,transport=tcp,portal=${a.portal},target=${a.iqn},lun=${a.lun},initiator-name=${a.initiator}`;

async function qemuIo(a: LunAddress, command: string): Promise<ProbeOutcome> {
  const r = await run(['qemu-io', '--image-opts', imageOpts(a), '-c', command], { nothrow: true, timeoutMs: 60_000 });
  const all = r.stdout + r.stderr;
  if (/verification failed/i.test(all)) return 'mismatch';
  // qemu-io exits 0 after some failed commands, so success is also judged by what it printed.
  if (r.exitCode === 0 && /(read|wrote) (\d+)\/\2 bytes/.test(r.stdout) && !/can't open/i.test(all)) return 'ok';
  return 'refused';
}

/** Write `byte` over [offset, offset+length) through iSCSI. */
export function writePattern(a: LunAddress, byte: number, offset: number, length: number): Promise<ProbeOutcome> {
  return qemuIo(a, `write -P 0x${byte.toString(16)} ${offset} ${length}`);
}

/** Read [offset, offset+length) and check every byte equals `byte`. */
export function verifyPattern(a: LunAddress, byte: number, offset: number, length: number): Promise<ProbeOutcome> {
  return qemuIo(a, `read -P 0x${byte.toString(16)} ${offset} ${length}`);
}

/** SendTargets discovery on one portal as `initiator`: the target IQNs it may see, with their portals. */
export async function discover(portal: string, initiator: string): Promise<{ iqn: string; portal: string }[]> {
  const r = await run(['iscsi-ls', '-s', `iscsi://${portal}`, '-i', initiator], { nothrow: true, timeoutMs: 30_000 });
  const out: { iqn: string; portal: string }[] = [];
  for (const m of r.stdout.matchAll(/^Target:(\S+) Portal:(\S+?)(?:,\d+)?$/gm)) out.push({ iqn: m[1]!, portal: m[2]! });
  return out;
}

/** INQUIRY vendor, product and the VPD 0x80 unit serial of a LUN. */
export async function inquiry(a: LunAddress): Promise<{ vendor: string; product: string; serial: string } | undefined> {
  const url = `iscsi://${a.portal}/${a.iqn}/${a.lun}`;
  const std = await run(['iscsi-inq', '-i', a.initiator, url], { nothrow: true, timeoutMs: 30_000 });
  if (std.exitCode !== 0) return undefined;
  const sn = await run(['iscsi-inq', '-i', a.initiator, '-e', '1', '-c', '128', url], { nothrow: true, timeoutMs: 30_000 });
  return {
    vendor: /Vendor:\s*(.*?)\s*$/m.exec(std.stdout)?.[1] ?? '',
    product: /Product:\s*(.*?)\s*$/m.exec(std.stdout)?.[1] ?? '',
    serial: /Unit Serial Number:\[?(.*?)\]?\s*$/im.exec(sn.stdout)?.[1] ?? '',
  };
}
