/**
 * Parsers for `tgtadm --op show` output (tgt 1.0.85). Pure functions; the recorded output they are tested against
 * is in testdata/.
 */
import { HarnessError } from '../../lib/errors.js';
import type { TargetState } from './target-host.js';

export interface TgtAccountBinding {
  user: string;
  /** True for the target's outgoing (mutual CHAP) account. */
  outgoing: boolean;
}

/** A target as tgt shows it: the TargetHost fields plus the CHAP accounts bound to it. */
export interface TgtTargetState extends TargetState {
  accounts: TgtAccountBinding[];
}

type Section = 'system' | 'nexus' | 'lun' | 'account' | 'acl' | 'other';

const SECTIONS: Record<string, Section> = {
  'System information': 'system',
  'I_T nexus information': 'nexus',
  'LUN information': 'lun',
  'Account information': 'account',
  'ACL information': 'acl',
};

/**
 * Parse `tgtadm --lld iscsi --op show --mode target`. LUN 0 (tgt's own controller) is left out. tgt prints sizes in
 * whole decimal megabytes rounded down, so `sizeBytes` is that many times 1,000,000, not the exact file size.
 */
export function parseShowTarget(text: string): TgtTargetState[] {
  const targets: TgtTargetState[] = [];
  let target: TgtTargetState | undefined;
  let section: Section = 'other';
  let lun: { lun: number; type: string; backingFile: string; serial: string; sizeBytes: number } | undefined;
  let session: { initiator: string; addresses: string[] } | undefined;

  const flushLun = () => {
    if (target && lun && lun.type !== 'controller') {
      target.luns.push({ lun: lun.lun, backingFile: lun.backingFile, serial: lun.serial, sizeBytes: lun.sizeBytes });
    }
    lun = undefined;
  };

  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trimEnd();
    if (!line.trim()) continue;
    const head = /^Target (\d+): (\S+)$/.exec(line);
    if (head) {
      flushLun();
      target = { iqn: head[2]!, tid: Number(head[1]), luns: [], acl: [], sessions: [], accounts: [] };
      targets.push(target);
      section = 'other';
      continue;
    }
    if (!target) throw new HarnessError('TARGET_HOST', `unexpected tgtadm output at line ${i + 1}: ${JSON.stringify(line)}`);
    const sec = /^ {4}(\S.*):$/.exec(line);
    if (sec) {
      flushLun();
      section = SECTIONS[sec[1]!] ?? 'other';
      continue;
    }
    const item = line.trim();
    let m: RegExpExecArray | null;
    switch (section) {
      case 'nexus':
        if (/^I_T nexus: \d+$/.test(item)) {
          session = { initiator: '', addresses: [] };
          target.sessions.push(session);
        } else if (session && (m = /^Initiator: (\S+)/.exec(item))) session.initiator = m[1]!;
        else if (session && (m = /^IP Address: (\S+)$/.exec(item))) session.addresses.push(m[1]!);
        break;
      case 'lun':
        if ((m = /^LUN: (\d+)$/.exec(item))) {
          flushLun();
          lun = { lun: Number(m[1]), type: '', backingFile: '', serial: '', sizeBytes: 0 };
        } else if (lun && (m = /^Type: (.*)$/.exec(item))) lun.type = m[1]!;
        else if (lun && (m = /^SCSI SN: (.*)$/.exec(item))) lun.serial = m[1]!;
        else if (lun && (m = /^Size: (\d+) MB/.exec(item))) lun.sizeBytes = Number(m[1]) * 1_000_000;
        else if (lun && (m = /^Backing store path: (.*)$/.exec(item))) lun.backingFile = m[1]!;
        break;
      case 'account':
        m = /^(\S+)( \(outgoing\))?$/.exec(item);
        if (m) target.accounts.push({ user: m[1]!, outgoing: Boolean(m[2]) });
        break;
      case 'acl':
        target.acl.push(item);
        break;
      default:
        break;
    }
  }
  flushLun();
  return targets;
}

/** Parse `tgtadm --lld iscsi --op show --mode portal` into "ip:port" strings (the ",tpgt" suffix dropped). */
export function parseShowPortal(text: string): string[] {
  const portals: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^Portal: (\S+),\d+$/.exec(line.trim());
    if (m) portals.push(m[1]!);
  }
  return portals;
}
