/**
 * iscsiadm's command line, parsed the way open-iscsi's getopt_long loop does: short options (clustered or not,
 * value attached or separate), long options (`--op=new`, `--op new`, unique prefixes such as `--target`), the
 * per-mode allowed-option check, and `-p ip[:port][,tpgt]` / `[v6]:port`.
 */
import { ISCSI_ERR, IscsiadmError } from './iscsi-err.js';

export type Mode = 'discovery' | 'discoverydb' | 'node' | 'session' | 'iface' | 'host' | 'fw';
export type Op = 'new' | 'delete' | 'update' | 'show' | 'nonpersistent' | 'apply' | 'applyall';

export interface Portal {
  ip: string;
  /** Undefined when not given; each mode picks its default. */
  port?: number;
  tpgt?: number;
}

export interface Args {
  mode?: Mode;
  portal?: Portal;
  target?: string;
  ifaces: string[];
  ops: Op[];
  type?: string;
  /** -n/-v pairs; a -n without its -v is dropped, so update then fails the way iscsiadm does. */
  params: { name: string; value: string }[];
  sid?: number;
  printLevel?: number;
  loginAll?: string;
  logoutAll?: string;
  login: boolean;
  logout: boolean;
  rescan: boolean;
  discover: boolean;
  stats: boolean;
  show: boolean;
  version: boolean;
  help: boolean;
  /** Short letters of every option given, for the per-mode check. */
  given: string[];
}

// letter -> takes a value; the same table as open-iscsi's short_options.
const SHORT: Record<string, boolean> = {
  R: false, l: false, D: false, V: false, h: false, s: false, S: false, u: false,
  m: true, a: true, b: true, c: true, C: true, p: true, P: true, T: true, H: true, i: true, I: true, U: true, k: true, L: true,
  d: true, r: true, n: true, v: true, o: true, t: true,
};

const LONG: Record<string, string> = {
  mode: 'm', portal: 'p', targetname: 'T', interface: 'I', op: 'o', type: 't', name: 'n', value: 'v', host: 'H', sid: 'r',
  rescan: 'R', print: 'P', discover: 'D', login: 'l', loginall: 'L', logout: 'u', logoutall: 'U', stats: 's',
  killiscsid: 'k', debug: 'd', show: 'S', version: 'V', help: 'h', submode: 'C', ip: 'a', packetsize: 'b', count: 'c',
  interval: 'i',
};

/** Options each mode accepts (open-iscsi's verify_mode_params strings). */
export const MODE_OPTIONS: Record<Mode, string> = {
  discovery: 'DSIPdmntplov',
  discoverydb: 'DSIPdmntplov',
  node: 'RsPIdmlSonvupTUL',
  session: 'PiRdrmusonuSv',
  iface: 'HIdnvmPoCabci',
  host: 'CHdmPov',
  fw: 'ml',
};

const MODES: readonly string[] = ['discovery', 'discoverydb', 'node', 'session', 'iface', 'host', 'fw'];
const OPS: readonly string[] = ['new', 'delete', 'update', 'show', 'nonpersistent', 'apply', 'applyall'];

export const USAGE_HINT = "Try `iscsiadm --help' for more information.";

/** `ip`, `ip:port`, `ip:port,tpgt`, `ip,tpgt`, `[v6addr]:port`, or a bare IPv6 address. */
export function parsePortal(s: string): Portal {
  let rest = s;
  let tpgt: number | undefined;
  const comma = rest.lastIndexOf(',');
  if (comma >= 0 && !rest.slice(comma).includes(']')) {
    tpgt = Number(rest.slice(comma + 1));
    rest = rest.slice(0, comma);
  }
  let ip = rest;
  let port: number | undefined;
  const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(rest);
  if (v6) {
    ip = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    const [a, b] = rest.split(':') as [string, string];
    ip = a;
    if (b) port = Number(b);
  }
  const out: Portal = { ip };
  if (port !== undefined && Number.isInteger(port)) out.port = port;
  if (tpgt !== undefined && Number.isInteger(tpgt)) out.tpgt = tpgt;
  return out;
}

function usageError(line: string): never {
  throw new IscsiadmError(ISCSI_ERR.INVAL, [line]);
}

export function parseArgs(argv: readonly string[]): Args {
  const a: Args = { ifaces: [], ops: [], params: [], login: false, logout: false, rescan: false, discover: false, stats: false, show: false, version: false, help: false, given: [] };
  let name: string | undefined;
  let value: string | undefined;
  const apply = (letter: string, val: string | undefined) => {
    a.given.push(letter);
    switch (letter) {
      case 'm':
        if (!MODES.includes(val!)) usageError(`invalid mode '${val}'`);
        a.mode = val as Mode;
        break;
      case 'p':
        a.portal = parsePortal(val!);
        break;
      case 'T':
        a.target = val;
        break;
      case 'I':
        a.ifaces.push(val!);
        break;
      case 'o':
        if (!OPS.includes(val!)) usageError(`can not recognize operation: '${val}'`);
        a.ops.push(val as Op);
        break;
      case 't':
        a.type = val;
        break;
      case 'n':
        name = val;
        break;
      case 'v':
        value = val;
        break;
      case 'r': {
        // open-iscsi also accepts a sysfs path ending in sessionN.
        const m = /^(?:.*session)?(\d+)\/?$/.exec(val!);
        if (!m) usageError(`invalid sid '${val}'`);
        a.sid = Number(m[1]);
        break;
      }
      case 'P':
        a.printLevel = Number.parseInt(val!, 10) || 0;
        break;
      case 'L':
        a.loginAll = val;
        break;
      case 'U':
        a.logoutAll = val;
        break;
      case 'R':
        a.rescan = true;
        break;
      case 'l':
        a.login = true;
        break;
      case 'u':
        a.logout = true;
        break;
      case 'D':
        a.discover = true;
        break;
      case 's':
        a.stats = true;
        break;
      case 'S':
        a.show = true;
        break;
      case 'V':
        a.version = true;
        break;
      case 'h':
        a.help = true;
        break;
      default:
        // -d, -k, -H, -C, -a, -b, -c, -i: accepted for compatibility, no effect here.
        break;
    }
    if (name !== undefined && value !== undefined) {
      a.params.push({ name, value });
      name = value = undefined;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = arg.slice(2, eq >= 0 ? eq : undefined);
      const exact = LONG[key] !== undefined ? [key] : Object.keys(LONG).filter((k) => k.startsWith(key));
      if (exact.length !== 1) usageError(exact.length ? `option '--${key}' is ambiguous` : `unrecognized option '--${key}'`);
      const letter = LONG[exact[0]!]!;
      let val: string | undefined;
      if (SHORT[letter]) {
        if (eq >= 0) val = arg.slice(eq + 1);
        else if (i + 1 < argv.length) val = argv[++i];
        else usageError(`option '--${exact[0]}' requires an argument`);
      } else if (eq >= 0) usageError(`option '--${exact[0]}' doesn't allow an argument`);
      apply(letter, val);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') continue; // getopt permutes operands away; iscsiadm ignores them
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      if (SHORT[letter] === undefined) usageError(`invalid option -- '${letter}'`);
      if (!SHORT[letter]) {
        apply(letter, undefined);
        continue;
      }
      let val = arg.slice(j + 1);
      if (!val) {
        if (i + 1 >= argv.length) usageError(`option requires an argument -- '${letter}'`);
        val = argv[++i]!;
      }
      apply(letter, val);
      break;
    }
  }
  return a;
}

/** The first option given that `mode` does not accept, as open-iscsi's verify_mode_params reports it. */
export function disallowedOption(a: Args): string | undefined {
  if (!a.mode) return undefined;
  const allowed = MODE_OPTIONS[a.mode];
  return a.given.find((l) => l !== 'm' && !allowed.includes(l));
}
