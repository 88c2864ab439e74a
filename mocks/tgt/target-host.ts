/**
 * Target hosts: where the mock's storage instances become real iSCSI targets. One interface, two implementations:
 * a host `tgtd` process (process-target-host.ts) and a tgt container (container-target-host.ts).
 *
 * Wire contract: every target is an iSCSI target served by tgt on each portal of the host (TPG tag 1). tgt reserves
 * LUN 0 for its own controller device, so the mock's volume-1 is LUN 1 (a documented deviation from Datera, where
 * volume-1 is LUN 0). Only initiator names in a target's ACL may log in (tgt `bind -Q`).
 */

export interface LunSpec {
  /** LUN number on the target (>= 1: tgt keeps LUN 0 for its controller). */
  lun: number;
  /** Host path of the backing file (sparse, created by the caller). */
  backingFile: string;
  /** VPD 0x80 unit serial: the Datera volume uuid. */
  serial: string;
  /** SCSI INQUIRY vendor and product. Default DATERA / IBLOCK, as Datera's LIO iblock LUNs report. */
  vendor?: string;
  product?: string;
}

export interface ChapSpec {
  /** chap: the initiator authenticates with these (tgt "incoming" account). */
  targetUser: string;
  targetPassword: string;
  /** mchap: the target authenticates back with these (tgt "outgoing" account). */
  initiatorUser?: string;
  initiatorPassword?: string;
}

export interface TargetSpec {
  iqn: string;
  luns: LunSpec[];
  /** Initiator IQNs allowed to log in; an empty list lets nobody in (Datera's deny_all). */
  initiators: string[];
  chap?: ChapSpec;
}

export interface TargetSession {
  initiator: string;
  /** Source address of each connection, as tgt reports it. */
  addresses: string[];
}

export interface TargetState {
  iqn: string;
  tid: number;
  luns: { lun: number; backingFile: string; serial: string; sizeBytes: number }[];
  acl: string[];
  sessions: TargetSession[];
}

export interface TargetHostOptions {
  /** Directory for this host's runtime files (pid, logs). */
  runDir: string;
  /**
   * Portal addresses to listen on, "ip:port". Process hosts default to two fresh loopback addresses on port 3260
   * (Access VIP 1 and 2); container hosts use the container's address on each of its networks.
   */
  portals?: string[];
  /** Host directories that hold backing files; container hosts bind-mount them at the same path. */
  dataDirs?: string[];
}

export interface TargetHost {
  readonly kind: 'process' | 'container';
  start(): Promise<StartedTargetHost>;
}

export interface StartedTargetHost {
  readonly kind: 'process' | 'container';
  /** The portals initiators connect to, "ip:port", VIP 1 first. */
  readonly portals: readonly string[];
  /** Create (or replace) a target: LUNs, serials, vendor/product, ACL, CHAP. Idempotent for the same spec. */
  createTarget(spec: TargetSpec): Promise<void>;
  /** Remove a target, ending its sessions (the backing files stay). No error if absent. */
  deleteTarget(iqn: string): Promise<void>;
  /** Replace a target's ACL with exactly these initiator names. */
  setAcl(iqn: string, initiators: string[]): Promise<void>;
  /** What tgt reports now: targets, LUNs, ACLs and active sessions. */
  listTargets(): Promise<TargetState[]>;
  /** Stop listening on one portal (connections to it fail) / listen again. */
  portalDown(portal: string): Promise<void>;
  portalUp(portal: string): Promise<void>;
  /** Take the whole host down (tgtd gone, all sessions dropped) and bring it back with the same targets. */
  hostDown(): Promise<void>;
  hostUp(): Promise<void>;
  /** Remove every target and stop the host; nothing it made remains (processes, containers, sockets). */
  stop(): Promise<void>;
}
