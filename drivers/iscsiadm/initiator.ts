/**
 * What iscsiadm needs from an initiator. The userspace one (userspace-initiator.ts) is the real implementation;
 * unit tests drive iscsiadm's logic through a fake.
 */
import type { SessionRecord } from './state.js';

export interface Chap {
  username: string;
  password: string;
}

export interface DiscoveredTarget {
  iqn: string;
  ip: string;
  port: number;
  tpgt: number;
}

export interface LoginOptions {
  chap?: Chap;
  timeoutMs: number;
  /** Saves the session record; called after each step that creates something, so a crash leaves a trail. */
  persist: () => Promise<void>;
}

export interface Initiator {
  /** SendTargets on one portal. Throws IscsiadmError carrying open-iscsi's code. */
  discover(portal: { ip: string; port: number }, initiatorName: string, chap?: Chap): Promise<DiscoveredTarget[]>;
  /** Log in and attach every disk LUN: fills in pid and luns. On failure it removes what it made, then throws IscsiadmError. */
  login(s: SessionRecord, opts: LoginOptions): Promise<void>;
  /** True when everything the record names is still there (process, FUSE export, loop device). */
  alive(s: SessionRecord): Promise<boolean>;
  /** Remove everything the session made. Idempotent, and works from a half-made record. */
  teardown(s: SessionRecord): Promise<void>;
  /** Pick up LUN size changes, as a SCSI rescan does. */
  rescan(s: SessionRecord, chap?: Chap): Promise<void>;
  /** Make sure the device links of these (live) sessions exist, e.g. after another path to the same volume went away. */
  relink(sessions: readonly SessionRecord[]): Promise<void>;
}
