/**
 * open-iscsi's exit codes and their texts (include/iscsi_err.h and usr/iscsi_err.c in open-iscsi 2.1.x): scripts
 * and drivers branch on these numbers (15 "already logged in", 21 "nothing to do"), so they must be the real ones.
 */
import { HarnessError } from '../../lib/errors.js';

export const ISCSI_ERR = {
  SUCCESS: 0,
  ERR: 1,
  SESS_NOT_FOUND: 2,
  NOMEM: 3,
  TRANS: 4,
  LOGIN: 5,
  IDBM: 6,
  INVAL: 7,
  TRANS_TIMEOUT: 8,
  INTERNAL: 9,
  LOGOUT: 10,
  PDU_TIMEOUT: 11,
  TRANS_NOT_FOUND: 12,
  ACCESS: 13,
  TRANS_CAPS: 14,
  SESS_EXISTS: 15,
  INVALID_MGMT_REQ: 16,
  ISNS_UNAVAILABLE: 17,
  ISCSID_COMM_ERR: 18,
  FATAL_LOGIN: 19,
  ISCSID_NOTCONN: 20,
  NO_OBJS_FOUND: 21,
  SYSFS_LOOKUP: 22,
  HOST_NOT_FOUND: 23,
  LOGIN_AUTH_FAILED: 24,
  ISNS_QUERY: 25,
  ISNS_REG_FAILED: 26,
  OP_NOT_SUPP: 27,
  BUSY: 28,
} as const;

const TEXT: Record<number, string> = {
  1: 'unknown error',
  2: 'session not found',
  3: 'no available memory',
  4: 'encountered connection failure',
  5: 'encountered iSCSI login failure',
  6: 'encountered iSCSI database failure',
  7: 'invalid parameter',
  8: 'connection timed out',
  9: 'internal error',
  10: 'encountered iSCSI logout failure',
  11: 'iSCSI PDU timed out',
  12: 'iSCSI driver not found. Please make sure it is loaded, and retry the operation',
  13: 'daemon access denied',
  14: 'iSCSI driver does not support requested capability.',
  15: 'session exists',
  16: 'Unknown request',
  17: 'iSNS service not supported',
  18: 'could not communicate to iscsid',
  19: 'encountered non-retryable iSCSI login failure',
  20: 'could not connect to iscsid',
  21: 'no objects found',
  22: 'sysfs lookup failure',
  23: 'host not found',
  24: 'iSCSI login failed due to authorization failure',
  25: 'iSNS query failed',
  26: 'iSNS registration failed',
  27: 'operation not supported',
  28: 'device or resource in use',
};

export function iscsiErrText(code: number): string {
  return TEXT[code] ?? 'unknown error';
}

/**
 * A failure iscsiadm reports: `status` is the exit code, `lines` what it prints on stderr (each gets the
 * "iscsiadm: " prefix). Secrets never go into `lines`.
 */
export class IscsiadmError extends HarnessError {
  readonly status: number;
  readonly lines: readonly string[];
  constructor(status: number, lines: string | readonly string[], options?: { cause?: unknown }) {
    const all = typeof lines === 'string' ? [lines] : lines;
    super(status === ISCSI_ERR.INVAL ? 'BAD_INPUT' : 'COMMAND_FAILED', all.join('\n') || iscsiErrText(status), options);
    this.name = 'IscsiadmError';
    this.status = status;
    this.lines = all;
  }
}

/**
 * The open-iscsi code for a libiscsi failure message. Login status class/detail follow RFC 7143 and open-iscsi's
 * mapping: 02/01 and 02/02 are authorization failures (24), other initiator errors are fatal (19), target errors
 * are retryable login failures (5); refused and timed-out connections are 4 and 8.
 */
export function codeForInitiatorMessage(msg: string): number {
  const status = /Status:[^(]*\((\d+)\)/.exec(msg);
  if (status) {
    const v = Number(status[1]);
    const cls = v >> 8;
    const detail = v & 0xff;
    if (cls === 2) return detail === 1 || detail === 2 ? ISCSI_ERR.LOGIN_AUTH_FAILED : ISCSI_ERR.FATAL_LOGIN;
    return ISCSI_ERR.LOGIN;
  }
  if (/timed? ?out/i.test(msg)) return ISCSI_ERR.TRANS_TIMEOUT;
  if (/refused|unreachable|reset by peer|socket error|reconnect|connect(ion)? failed|No route/i.test(msg)) return ISCSI_ERR.TRANS;
  if (/CHAP|auth/i.test(msg)) return ISCSI_ERR.LOGIN_AUTH_FAILED;
  return ISCSI_ERR.LOGIN;
}
