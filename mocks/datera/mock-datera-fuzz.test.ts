// Bad-input fuzz test of the mock Datera REST API (REST only, targets: none). A few thousand generated requests,
// each malformed or aimed at something that does not exist BY CONSTRUCTION (every case carries at least one
// definite fault: bad auth, an unknown tenant, route, version or method, unparseable or wrongly typed body, a
// field out of range, a missing object, a conflict, a huge body, ...). Every one must get a 4xx Datera-shaped
// error; afterwards the server still answers, logged no 5xx, its state is byte-for-byte the seeded baseline,
// and nothing polluted Object.prototype.
//
// Deterministic: DKC_FUZZ_SEED (default 0x5eed; decimal or 0x hex) picks the cases, DKC_FUZZ_COUNT (default 3000)
// how many are generated (the fixed regression cases run as well). A failure prints the seed and the first cases
// that misbehaved.
import t from 'tap';
import { Agent, request } from 'node:http';
import { MockDatera, type StartedMockDatera } from './mock-datera.js';

const SEED = parseEnvInt('DKC_FUZZ_SEED', 0x5eed) >>> 0;
const COUNT = parseEnvInt('DKC_FUZZ_COUNT', 3000);
const CONCURRENCY = 8;
const HUGE_CASES = 6;
const PASSWORD = 'fuzz-password-1';

function parseEnvInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

// ---- deterministic randomness (mulberry32) ----

class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let x = this.s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)];
    return s;
  }
}

// ---- the seeded world ----

const A = 'OS-fuzz-a'; // storage-1 (volume-1 2 GiB with a snapshot, volume-2 1 GiB; ACL: I1 + G1), storage-2 (volume-1)
const B = 'CSI-fuzz-b'; // from template basic: storage-1/volume-1 1 GiB, empty ACL
const I1 = 'iqn.1993-08.org.debian:01:fuzz00000001';
const I2 = 'iqn.1993-08.org.debian:01:fuzz00000002';
const G1 = 'fuzz-group'; // members I1, I2; in A/storage-1's ACL
const TEN = 'fuzz-tenant';
const SNAP_UUID = '0f5c4b9e-9a3a-4f4e-8a55-6c1d2b3e4f50';
const VERSIONS = ['v2', 'v2.1', 'v2.2', 'v2.3'];

interface World {
  aUuid: string;
  snapTs: string;
  key: string;
}

/** Existing (ai, si, vol) chains, with the volume's current size. */
const VOLS = [
  { ai: A, si: 'storage-1', vol: 'volume-1', size: 2 },
  { ai: A, si: 'storage-1', vol: 'volume-2', size: 1 },
  { ai: A, si: 'storage-2', vol: 'volume-1', size: 1 },
  { ai: B, si: 'storage-1', vol: 'volume-1', size: 1 },
];
const SIS = [
  { ai: A, si: 'storage-1', inits: [I1], groups: [G1] },
  { ai: A, si: 'storage-2', inits: [] as string[], groups: [] as string[] },
  { ai: B, si: 'storage-1', inits: [] as string[], groups: [] as string[] },
];

// ---- case model ----

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in pieces with chunked transfer encoding instead of Content-Length. */
  chunked?: boolean;
}

type Gen = (r: Rng, w: World) => Case;

const enc = encodeURIComponent;
const jsonBody = (v: unknown) => JSON.stringify(v);

/** An object with an own property of any name, __proto__ included (a plain assignment would set the prototype). */
function withKey(o: Record<string, unknown>, k: string, v: unknown): Record<string, unknown> {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

function deep(n: number, leaf: unknown = 1): string {
  return '{"a":'.repeat(n) + JSON.stringify(leaf) + '}'.repeat(n);
}

/** Field values of every wrong kind. */
const JUNK: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e-308,
  '',
  ' ',
  'x',
  'x'.repeat(1000),
  '\u0000',
  '\ud800',
  'ünïcødé ☃ 😀',
  [],
  [[]],
  [[[1, [2, [3]]]]],
  {},
  { a: { b: { c: [] } } },
  { path: 5 },
  [null, true, 'x', 1],
];

/** Field names no endpoint reads (so adding them never makes a bad request good). */
const UNKNOWN_KEYS = ['zz_unknown', 'Name', 'NAME', 'name ', 'foo', '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'ÿ', '😀', 'a.b', 'a/b', 'k'.repeat(300), 'polluted'];

/** Names that must not resolve to anything: prototype keys, odd encodings, near misses of real names. */
const ODD_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf',
  'length',
  'missing-thing',
  '1leading-digit',
  'x'.repeat(300),
  '%E2%98%83',
  '%C3%BC%C3%B1%C3%AF',
  '%F0%9F%98%80',
  '%00',
  'a%2Fb',
  '%2F',
  '%20',
  '%20OS-fuzz-a',
  'OS-fuzz-a%20',
  'os-fuzz-a',
  'OS-FUZZ-A',
  'OS-fuzz-ax',
  '*',
  '~',
  ';',
  "'",
  '%22',
  '%3Cscript%3E',
  '%25',
  '%2525',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  'storage-9',
  'volume-9',
  '1.000000000',
  'iqn.1993-08.org.debian:01:missing',
  'ÿþ',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/json; charset=utf-16',
  '*/*',
  'garbage',
];

/** Headers: the session key unless told otherwise, a JSON (or odd) content type, and tenant noise that keeps /root. */
function headers(r: Rng, w: World, o: { auth?: string | null; tenant?: string | null } = {}): Record<string, string> {
  const h: Record<string, string> = {};
  const auth = o.auth === undefined ? w.key : o.auth;
  if (auth !== null) h['Auth-Token'] = auth;
  h['Content-Type'] = r.chance(0.8) ? 'application/json' : r.pick(CONTENT_TYPES);
  const tenant = o.tenant === undefined ? r.pick([null, null, null, '', '/root', '  /root  ']) : o.tenant;
  if (tenant !== null) h.tenant = tenant;
  if (r.chance(0.1)) h['X-Fuzz-Junk'] = r.pick(['x'.repeat(2000), '\u00ff\u00fe', '', 'a=b; c']);
  return h;
}

/** Add unknown fields (never a field any endpoint reads) to a body. */
function noise(r: Rng, body: Record<string, unknown>): Record<string, unknown> {
  if (!r.chance(0.4)) return body;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const k = r.pick(UNKNOWN_KEYS);
    if (Object.hasOwn(body, k)) continue;
    withKey(body, k, k === '__proto__' || k === 'constructor' || k === 'prototype' ? r.pick([{ polluted: 'yes', admin: true }, { prototype: { polluted: 'yes' } }, r.pick(JUNK)]) : r.pick(JUNK));
  }
  return body;
}

/** Bodies that are not a JSON object at all. */
function badJsonText(r: Rng): string | Buffer {
  const valid = jsonBody({ name: 'OS-fz-json', storage_instances: [] });
  return r.pick<() => string | Buffer>([
    () => '{',
    () => '{"name": }',
    () => "{'name': 'x'}",
    () => '{"name": "x",}',
    () => '{name: "x"}',
    () => 'undefined',
    () => 'NaN',
    () => '{"a": NaN}',
    () => '{"a": Infinity}',
    () => '{"a": 01}',
    () => '{"a": "\u0001"}',
    () => '\u0000',
    () => valid.slice(0, 1 + r.int(valid.length - 1)),
    () => valid + '}',
    () => valid + valid,
    () => '// comment\n{}',
    () => '{"a":1} trailing',
    () => '[]',
    () => '[{}]',
    () => '[' + valid + ']',
    () => '1',
    () => '-0',
    () => '1e999',
    () => '"string"',
    () => 'true',
    () => 'false',
    () => 'null',
    () => 'name=admin&password=x',
    () => '<xml/>',
    () => '\ufeff{',
    () => '{"a":"\\ud800"',
    () => '['.repeat(5000),
    () => '{"a":'.repeat(3000),
    () => Buffer.from(Array.from({ length: 20 + r.int(200) }, () => r.int(256))),
    () => Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
    () => Buffer.from([0xc0, 0xaf, 0x7b, 0x7d]),
  ])();
}

// ---- route table ----

/** Every route of the API with its methods. Placeholders: {ai} {si} {vol} {ts} {id} {g} {tpl} {tenant} {pool}. */
const ROUTES: { p: string; m: string[] }[] = [
  { p: '/system', m: ['GET'] },
  { p: '/system/network/access_vip', m: ['GET'] },
  { p: '/storage_nodes', m: ['GET'] },
  { p: '/access_network_ip_pools', m: ['GET'] },
  { p: '/access_network_ip_pools/{pool}', m: ['GET'] },
  { p: '/logs_upload', m: ['PUT'] },
  { p: '/logout', m: ['PUT'] },
  { p: '/api', m: ['GET'] },
  { p: '/tenants', m: ['GET', 'POST'] },
  { p: '/tenants/{tenant}', m: ['GET'] },
  { p: '/app_instances', m: ['GET', 'POST'] },
  { p: '/app_instances/{ai}', m: ['GET', 'PUT', 'DELETE'] },
  { p: '/app_instances/{ai}/metadata', m: ['GET', 'PUT'] },
  { p: '/app_instances/{ai}/int_ecosystem_data', m: ['GET', 'PUT'] },
  { p: '/app_instance_int_ecosystem_data', m: ['GET'] },
  { p: '/app_instances/{ai}/snapshots', m: ['GET'] },
  { p: '/app_instances/{ai}/storage_instances', m: ['GET'] },
  { p: '/app_instances/{ai}/storage_instances/{si}', m: ['GET', 'PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/acl_policy', m: ['GET', 'PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/acl_policy/initiators', m: ['PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/acl_policy/initiator_groups', m: ['PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/auth', m: ['GET', 'PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/volumes', m: ['GET'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/volumes/{vol}', m: ['GET', 'PUT'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/volumes/{vol}/performance_policy', m: ['GET', 'POST', 'PUT', 'DELETE'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/volumes/{vol}/snapshots', m: ['GET', 'POST'] },
  { p: '/app_instances/{ai}/storage_instances/{si}/volumes/{vol}/snapshots/{ts}', m: ['GET', 'DELETE'] },
  { p: '/initiators', m: ['GET', 'POST'] },
  { p: '/initiators/{id}', m: ['GET', 'PUT', 'DELETE'] },
  { p: '/initiator_groups', m: ['GET', 'POST'] },
  { p: '/initiator_groups/{g}', m: ['GET', 'PUT', 'DELETE'] },
  { p: '/app_templates', m: ['GET', 'POST'] },
  { p: '/app_templates/{tpl}', m: ['GET', 'DELETE'] },
];
const LIST_ROUTES = [
  '/storage_nodes',
  '/access_network_ip_pools',
  '/tenants',
  '/app_instances',
  '/app_instance_int_ecosystem_data',
  '/app_instances/{ai}/snapshots',
  '/app_instances/{ai}/storage_instances',
  '/app_instances/{ai}/storage_instances/{si}/volumes',
  '/app_instances/{ai}/storage_instances/{si}/volumes/{vol}/snapshots',
  '/initiators',
  '/initiator_groups',
  '/app_templates',
];
const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Fill a route with existing names (every level resolves). */
function fillExisting(r: Rng, w: World, p: string): string {
  const v = r.pick(VOLS.filter((x) => !p.includes('{ts}') || (x.ai === A && x.si === 'storage-1' && x.vol === 'volume-1')));
  const ai = v.ai === A && r.chance(0.2) ? w.aUuid : v.ai;
  return p
    .replace('{ai}', enc(ai))
    .replace('{si}', v.si)
    .replace('{vol}', v.vol)
    .replace('{ts}', r.chance(0.5) ? w.snapTs : SNAP_UUID)
    .replace('{id}', enc(r.pick([I1, I2])))
    .replace('{g}', G1)
    .replace('{tpl}', r.pick(['basic', 'small', 'mysql']))
    .replace('{tenant}', r.pick(['root', TEN]))
    .replace('{pool}', 'default');
}

/** Fill a route so that at least one level names something that does not exist. */
function fillMissing(r: Rng, w: World, p: string): string {
  const slots = ['{ai}', '{si}', '{vol}', '{ts}', '{id}', '{g}', '{tpl}', '{tenant}', '{pool}'].filter((s) => p.includes(s));
  if (!slots.length) throw new Error(`route ${p} has no parameter`);
  const missing = new Set([r.pick(slots)]);
  for (const s of slots) if (r.chance(0.2)) missing.add(s);
  let out = fillExisting(r, w, p);
  // Re-fill the chosen slots with odd names, working on the template so each slot is replaced exactly.
  const segs = p.split('/');
  const filled = out.split('/');
  for (let i = 0; i < segs.length; i++) if (missing.has(segs[i]!)) filled[i] = r.pick(ODD_NAMES);
  out = filled.join('/');
  return out;
}

const withVersion = (r: Rng, path: string) => `/${r.pick(VERSIONS)}${path}`;

// ---- generators ----

/** Any route, any method, any body (even a valid one): the session key is missing or wrong, so 401. */
const genBadAuth: Gen = (r, w) => {
  const route = r.pick(ROUTES);
  const path = r.chance(0.7) ? fillExisting(r, w, route.p) : fillMissing(r, w, route.p.includes('{') ? route.p : '/app_instances/{ai}');
  const auth = r.pick([null, '', ' ', 'f'.repeat(32), w.key.toUpperCase(), w.key.slice(0, 31), `${w.key}0`, ` ${w.key}x`, 'x'.repeat(4000), 'null', 'Bearer x', '\u00ff\u00fe', w.key.replace(/./, 'z')]);
  const method = r.pick(ALL_METHODS);
  const body = method === 'GET' || r.chance(0.3) ? undefined : r.chance(0.5) ? badJsonText(r) : jsonBody(noise(r, { name: 'OS-fz-auth', descr: 'x', size: 9 }));
  return { kind: 'bad-auth', method, path: withVersion(r, path), headers: headers(r, w, { auth }), body };
};

/** A valid key but a tenant that does not exist: 404 before any body or route is looked at. */
const genBadTenant: Gen = (r, w) => {
  const route = r.pick(ROUTES.filter((x) => x.p !== '/api' && x.p !== '/logout'));
  const tenant = r.pick(['nope', '/root/nope', '/', '//', '/root/', 'root', '/ROOT', 'ROOT', '/root/fuzz-tenant/x', `/${TEN}`, '../root', '%2Froot', '__proto__', 'constructor', '/root/__proto__', '/root/constructor', '/__proto__', 'x'.repeat(500), '\u00ffroot', '/root /root']);
  const method = r.pick(route.m);
  const body = method === 'GET' ? undefined : r.chance(0.5) ? jsonBody({ name: 'OS-fz-tenant', storage_instances: [] }) : badJsonText(r);
  return { kind: 'bad-tenant', method, path: withVersion(r, fillExisting(r, w, route.p)), headers: headers(r, w, { tenant }), body };
};

/** Paths no route matches, under a good version, a bad version, or none. */
/** Whether a path (after the version) is one of the API's routes, as the mock matches them (empty segments dropped). */
function isRoute(path: string): boolean {
  const segs = path.split('?')[0]!.split('/').filter(Boolean);
  return ['/login', '/api', ...ROUTES.map((x) => x.p)].some((p) => {
    const pat = p.split('/').filter(Boolean);
    return pat.length === segs.length && pat.every((s, i) => s.startsWith('{') || s === segs[i]);
  });
}

const genUnknownRoute: Gen = (r, w) => {
  for (;;) {
    const c = unknownRouteCase(r, w);
    const m = /^\/v2(?:\.\d)?(\/.*)?$/.exec(c.path.split('?')[0]!);
    if (!m || !isRoute(m[1] ?? '/')) return c;
  }
};

const unknownRouteCase: Gen = (r, w) => {
  const junk = r.pick(['no_such_thing', 'app_instance', 'appinstances', 'APP_INSTANCES', 'app_instances.json', 'volumes', 'initiator', 'metrics', 'metrics/io/reads', '__proto__', 'constructor', 'prototype', '*', '~', '%00', '%E2%98%83', 'system/x', 'tenants/root/x', 'login/x', 'api/x', 'logs_upload/x']);
  const path = r.pick<() => string>([
    () => `/${r.pick(VERSIONS)}/${junk}`,
    () => `/${r.pick(VERSIONS)}${fillExisting(r, w, r.pick(ROUTES).p)}/${junk}`,
    () => `/${r.pick(VERSIONS)}/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/snapshots/${w.snapTs}/${junk}`,
    () => `/${r.pick(['v3', 'v1', 'v2.9', 'v2.22', 'V2.2', 'v2.2.1', 'v2.', 'v', '2.2', 'v2%2E2', 'v-2', 'v2.2x', 'latest', '', '__proto__'])}/${r.pick(['system', 'app_instances', 'login'])}`,
    () => `/${junk}`,
    () => '/',
    () => `/api_versions/${junk}`,
    () => `/${r.pick(VERSIONS)}` + '/deep'.repeat(50 + r.int(500)),
    () => `/${r.pick(VERSIONS)}/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/performance_policy/${junk}`,
    () => `/${r.pick(VERSIONS)}/initiators/${enc(I1)}/${junk}`,
    () => `/${r.pick(VERSIONS)}/initiator_groups/${G1}/members`,
    () => `/${r.pick(VERSIONS)}/app_templates/basic/storage_templates`,
    () => r.pick(['//[', '//a:b@[x/', '/\\[', '//x:99999/', 'http://[/', `//${r.pick(VERSIONS)}/system`, `//[::1/${r.pick(VERSIONS)}/system`, '//%/', '/%2e%2e/%2e%2e/etc/passwd']),
  ])();
  const method = r.pick(ALL_METHODS);
  const body = method === 'GET' || r.chance(0.3) ? undefined : r.chance(0.5) ? badJsonText(r) : jsonBody(noise(r, { name: 'OS-fz-route' }));
  return { kind: 'unknown-route', method, path, headers: headers(r, w), body };
};

/** A real route with a method it does not take: 405 (or the login/api_versions equivalents). */
const genWrongMethod: Gen = (r, w) => {
  const pick = r.int(10);
  if (pick === 0) {
    const method = r.pick(['GET', 'POST', 'DELETE', 'PATCH', 'OPTIONS']);
    return { kind: 'wrong-method', method, path: withVersion(r, '/login'), headers: headers(r, w), body: method === 'GET' ? undefined : jsonBody({ name: 'admin', password: 'wrong' }) };
  }
  if (pick === 1) {
    const method = r.pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
    return { kind: 'wrong-method', method, path: '/api_versions', headers: headers(r, w), body: jsonBody({}) };
  }
  const route = r.pick(ROUTES.filter((x) => x.p !== '/logout'));
  const method = r.pick(ALL_METHODS.filter((m) => !route.m.includes(m)));
  const body = method === 'GET' ? undefined : r.chance(0.5) ? jsonBody(noise(r, { name: 'OS-fz-method', descr: 'x' })) : badJsonText(r);
  return { kind: 'wrong-method', method, path: withVersion(r, fillExisting(r, w, route.p)), headers: headers(r, w), body };
};

/** Broken percent-encoding somewhere in a real path: 400. */
const genBadEncoding: Gen = (r, w) => {
  const route = r.pick(ROUTES.filter((x) => x.p.includes('{') && x.m.some((m) => m !== 'POST')));
  const bad = r.pick(['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', '%80', 'abc%', 'a%2', '%%', '%u0041', '%F0%9F%98']);
  const segs = fillExisting(r, w, route.p).split('/');
  const i = 1 + r.int(segs.length - 1);
  segs[i] = r.chance(0.5) ? bad : `${segs[i]}${bad}`;
  const method = r.pick(route.m);
  return { kind: 'bad-encoding', method, path: withVersion(r, segs.join('/')), headers: headers(r, w), body: method === 'GET' ? undefined : jsonBody({ descr: 5 }) };
};

/** Very long paths (a long name, many segments), still under the server's header limit. */
const genLongPath: Gen = (r, w) => {
  const unit = r.pick(['a', 'x', '%41', 'ü', '_']);
  const name = unit.repeat(Math.ceil((1000 + r.int(11_000)) / unit.length));
  const route = r.pick(ROUTES.filter((x) => x.p.includes('{')));
  const method = r.pick(route.m);
  const segs = route.p.split('/');
  const filled = fillExisting(r, w, route.p).split('/');
  const slot = segs.findIndex((s) => s.startsWith('{'));
  filled[slot] = name;
  return { kind: 'long-path', method, path: withVersion(r, filled.join('/')), headers: headers(r, w), body: method === 'GET' ? undefined : jsonBody(noise(r, { descr: 'x' })) };
};

/** A path far over the server's header size limit. */
const genHugePath: Gen = (r, w) => ({ kind: 'huge-path', method: r.pick(['GET', 'PUT']), path: withVersion(r, `/app_instances/${'z'.repeat(20_000 + r.int(20_000))}`), headers: headers(r, w) });

/** POST/PUT on a matched route whose body is not a JSON object: 400 (404/405 where a name is missing). */
const genBadJson: Gen = (r, w) => {
  const route = r.pick(ROUTES.filter((x) => x.m.some((m) => m === 'POST' || m === 'PUT') && x.p !== '/logs_upload' && x.p !== '/logout'));
  const method = r.pick(route.m.filter((m) => m === 'POST' || m === 'PUT'));
  const path = r.chance(0.8) ? fillExisting(r, w, route.p) : route.p.includes('{') ? fillMissing(r, w, route.p) : route.p;
  return { kind: 'bad-json', method, path: withVersion(r, path), headers: headers(r, w), body: badJsonText(r), chunked: r.chance(0.1) };
};

/** Bodies that look like real requests, for use against things that do not exist. */
function plausibleBody(r: Rng): string | undefined {
  return r.pick<() => string | undefined>([
    () => undefined,
    () => jsonBody({}),
    () => jsonBody({ descr: 'fuzz' }),
    () => jsonBody({ admin_state: 'offline', force: true }),
    () => jsonBody({ force: true }),
    () => jsonBody({ size: 8 }),
    () => jsonBody({ total_iops_max: 100 }),
    () => jsonBody({ name: 'fz-node' }),
    () => jsonBody({ members: [] }),
    () => jsonBody({ initiators: [] }),
    () => jsonBody({ op: 'add', path: `/initiators/${I1}` }),
    () => jsonBody({ op: 'remove', path: `/initiators/${I1}` }),
    () => jsonBody({ op: 'add', path: `/initiator_groups/${G1}` }),
    () => jsonBody({ type: 'none' }),
    () => jsonBody({ k: 'v' }),
    () => jsonBody({ data: { k: 1 } }),
    () => jsonBody({ uuid: SNAP_UUID.replace('0f', '1f') }),
    () => jsonBody(noise(r, { admin_state: 'online' })),
  ])();
}

/** Any route with a name that does not exist at some level: 404 (405 for a method the route lacks). */
const genMissing: Gen = (r, w) => {
  const route = r.pick(ROUTES.filter((x) => x.p.includes('{')));
  const method = r.chance(0.9) ? r.pick(route.m) : r.pick(ALL_METHODS);
  return { kind: 'missing-object', method, path: withVersion(r, fillMissing(r, w, route.p)), headers: headers(r, w), body: method === 'GET' ? undefined : plausibleBody(r) };
};

/** List GETs with a paging or filter parameter that cannot be honoured: 400. */
const genBadQuery: Gen = (r, w) => {
  const path = fillExisting(r, w, r.pick(LIST_ROUTES));
  const bad = r.pick([
    `limit=${r.pick(['abc', '-1', '1001', '1.5', '1e2', '0x10', '%20', '%00', '99999999999999999999', '+5', '5%20', '', 'null', '[]', '%E2%98%83'])}`,
    `offset=${r.pick(['x', '-5', '1.0', '1e3', '9007199254740993', '%2B1', 'Infinity', 'NaN', '--1'])}`,
    `filter=${r.pick(['garbage', 'name', 'name~x', 'match(name)', 'match(name,[)', 'match(name,(?<)', 'match(name,*)', 'match(name,a{2,1})', '%3D%3D', 'match(name,x', 'match(,x)', 'and(eq(name,x))', 'x'.repeat(500), '%E2%98%83'])}`,
  ]);
  if (bad === 'limit=') return { kind: 'bad-query', method: 'GET', path: withVersion(r, `${path}?limit=-`), headers: headers(r, w) };
  const extra = r.chance(0.5) ? `&sort=${r.pick(['name', '-name', 'x', '%00', 'name,desc', '__proto__', ''])}` : '';
  const lead = r.chance(0.3) ? `${r.pick(['zz=1', 'params=%7B%7D', 'a', '&&', '=x'])}&` : '';
  return { kind: 'bad-query', method: 'GET', path: withVersion(r, `${path}?${lead}${bad}${extra}`), headers: headers(r, w), body: r.chance(0.2) ? jsonBody({ params: { limit: 5 } }) : undefined };
};

/** PUT /login that must not yield a key. */
const genBadLogin: Gen = (r, w) => {
  const form = r.chance(0.3);
  const creds = r.pick<() => Record<string, unknown>>([
    () => ({ name: 'admin', password: 'wrong' }),
    () => ({ name: 'admin', password: PASSWORD.toUpperCase() }),
    () => ({ name: 'admin', password: `${PASSWORD} ` }),
    () => ({ name: 'admin' }),
    () => ({ password: PASSWORD }),
    () => ({ name: 'nobody', password: PASSWORD }),
    () => ({ name: '', password: PASSWORD }),
    () => ({ name: 'admin', password: '' }),
    () => ({ name: 'admin', password: [PASSWORD] }),
    () => ({ name: ['admin'], password: PASSWORD }),
    () => ({ name: 'admin', password: 12345 }),
    () => ({ name: 'admin', password: null }),
    () => ({ name: '__proto__', password: PASSWORD }),
    () => ({ name: 'constructor', password: PASSWORD }),
    () => ({ name: 'toString', password: PASSWORD }),
    () => ({ name: 'admin', password: 'x'.repeat(100_000) }),
    () => withKey({ name: 'admin' }, '__proto__', { password: PASSWORD }),
  ])();
  let body: string | Buffer;
  let ct = 'application/json';
  if (form) {
    ct = 'application/x-www-form-urlencoded';
    // Flattened so that no credential set above turns into the right one (a list gains a trailing comma).
    body = new URLSearchParams(Object.entries(creds).map(([k, v]) => [k, Array.isArray(v) ? `${v.join(',')},` : v === null ? '' : String(v)])).toString();
  } else body = r.chance(0.2) ? badJsonText(r) : jsonBody(creds);
  if (r.chance(0.15)) ct = r.pick(['text/plain', 'application/json', 'application/x-www-form-urlencoded; charset=utf-8', '']);
  // Form-encoded text sent as JSON is unparseable; JSON sent as a form has no fields: both still must fail.
  return { kind: 'bad-login', method: 'PUT', path: withVersion(r, '/login'), headers: { ...headers(r, w, { auth: r.chance(0.5) ? null : w.key }), 'Content-Type': ct }, body };
};

/** A body over the 1 MiB limit, on any route: 413. */
const genHugeBody: Gen = (r, w) => {
  const route = r.pick(ROUTES);
  const size = (1 << 20) + 1 + r.int(1 << 19);
  let body = r.pick<() => string | Buffer>([
    () => jsonBody({ name: 'OS-fz-huge', descr: 'x'.repeat(size) }),
    () => Buffer.alloc(size, 0x7b),
    () => jsonBody({ data: Array.from({ length: size / 6 }, (_, i) => i) }),
  ])();
  if (body.length < size) body = `${body.toString()}${' '.repeat(size - body.length)}`;
  return { kind: 'huge-body', method: r.pick(route.m), path: withVersion(r, fillExisting(r, w, route.p)), headers: headers(r, w), body, chunked: r.chance(0.5) };
};

/** The mock's own control API with requests it must refuse. */
const genBadControl: Gen = (r, w) =>
  r.pick<() => Case>([
    () => ({ kind: 'control', method: r.pick(ALL_METHODS), path: `/__mock/${r.pick(['nope', 'state/x', '__proto__', 'constructor', 'faults/1'])}`, headers: headers(r, w), body: undefined }),
    () => ({ kind: 'control', method: 'GET', path: '/__mock', headers: headers(r, w) }),
    () => ({
      kind: 'control',
      method: 'POST',
      path: '/__mock/faults',
      headers: headers(r, w),
      body: r.pick([jsonBody({ path: '(' }), jsonBody({ path: 5 }), jsonBody({}), jsonBody({ path: '^/zz', status: 200 }), jsonBody({ path: '^/zz', status: 'x' }), jsonBody({ path: '^/zz', status: 600 }), '{', '[]']),
    }),
    () => ({ kind: 'control', method: 'POST', path: `/__mock/${r.pick(['portals/down', 'portals/up'])}`, headers: headers(r, w), body: r.pick([jsonBody({}), jsonBody({ portal: 5 }), jsonBody({ portal: '127.0.0.1:3260' })]) }),
    () => ({ kind: 'control', method: 'POST', path: `/__mock/${r.pick(['host/down', 'host/up'])}`, headers: headers(r, w), body: jsonBody({}) }),
  ])();

// ---- semantic generators: existing objects, one or more definitely bad fields ----

const validVolume = (r: Rng, name = 'volume-1') => ({ name, size: 1 + r.int(4), replica_count: 1 + r.int(5), placement_mode: r.pick(['hybrid', 'single_flash', 'all_flash']), performance_policy: { total_iops_max: r.int(1000) } });
const validSi = (r: Rng) => ({ name: 'storage-1', ip_pool: { path: '/access_network_ip_pools/default' }, auth: { type: 'none' }, volumes: [validVolume(r)] });

const BAD_AI_NAMES: unknown[] = [undefined, null, 12, true, [], {}, '', '1abc', 'ab', 'x'.repeat(300), 'ünï-name', 'a/b', 'a b', '-abc', '.abc', 'a\u0000b', '__proto__', A, B, ['OS-x'], { path: '/app_instances/OS-x' }];
const BAD_SUB_NAMES: unknown[] = [5, '', '1x', 'x'.repeat(65), 'a b', 'a/b', [], {}, true, 'ü', '-x'];
const BAD_SIZES: unknown[] = [0, -1, 32769, 1.5, '1.5', 'ten', true, [], {}, 1e308, '1e3', '', -0.5, '0x10', [1]];
const BAD_REPLICAS: unknown[] = [0, 6, -1, 2.5, '3x', true, [], {}, '', 'three'];
const QOS = ['total_iops_max', 'read_iops_max', 'write_iops_max', 'total_bandwidth_max', 'read_bandwidth_max', 'write_bandwidth_max'];
const badQos = (r: Rng) => r.pick<unknown>([-1, 10_240_001 + r.int(1e9), 1.5, 'fast', true, [], {}, '1e3', '', -0.0001, [5], 1e308]);
const BAD_REFS = (collection: string): unknown[] => [
  `/${collection}/default`,
  'default',
  5,
  [],
  [{ path: `/${collection}/default` }],
  true,
  {},
  { path: 5 },
  { path: null },
  { path: `/${collection}/` },
  { path: `/${collection}` },
  { path: '/wrong_collection/default' },
  { name: 'default' },
  { path: `/${collection}/%E0%A4%A` },
  { path: `/${collection}/%` },
];

/** One change that makes an app_instance create body invalid whatever else it holds. */
function breakAiBody(r: Rng, b: Record<string, unknown>, variant: 'sis' | 'tpl' | 'clone'): void {
  // An earlier change in the same body may have replaced these with junk: only an object is changed further.
  const sis = b.storage_instances;
  const si = Array.isArray(sis) && isRecord(sis[0]) ? sis[0] : undefined;
  const vol = si && Array.isArray(si.volumes) && isRecord(si.volumes[0]) ? si.volumes[0] : undefined;
  const choices: (() => void)[] = [
    () => {
      const n = r.pick(BAD_AI_NAMES);
      if (n === undefined) delete b.name;
      else b.name = n;
    },
    () => (b.uuid = r.pick(['not-a-uuid', 123, '00000000-0000-0000-0000-00000000000g', {}, '', SNAP_UUID + '0', true])),
    () => (b.descr = r.pick([5, [], {}, true, ['x']])),
    () => (b.create_mode = r.pick([5, [], {}, false])),
    () => (b.access_control_mode = r.pick(['allow_some', 5, '', 'ALLOW_ALL', [], 'deny all'])),
    () => (b.admin_state = r.pick(['up', 1, true, 'ONLINE', '', [], {}, 'online '])),
    () => (b.app_template = r.pick(['basic', '/app_templates/basic', ['x'], 5, true, ...(variant === 'tpl' ? [{ path: '/app_templates/nope' }, { path: 5 }, {}, { path: '/app_template/basic' }, { path: '/app_templates/__proto__' }, { path: '/app_templates/constructor' }, { path: '/app_templates/%' }] : [{ path: '/app_templates/basic' }])])),
    () => (b.storage_instances = r.pick(['x', 5, {}, [5], [null], [[]], ['storage-1'], true, ...(variant === 'sis' ? [] : [[], [validSi(r)]])])),
    () => (b.clone_src = r.pick(['OS-fuzz-a', 5, [], { path: '/app_instances/missing-ai' }, { path: '/app_instances' }, { path: 'OS-fuzz-a' }, { path: '/app_instances/%E0%A4%A' }, { path: '/app_instances/__proto__' }, { path: '/app_instances/constructor' }, { path: `/app_instances/${A}/x` }, ...(variant === 'clone' ? [] : [{ path: `/app_instances/${A}` }])])),
    () =>
      (b.clone_volume_src = r.pick([
        `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1`,
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/missing` },
        { path: `/app_instances/${A}/storage_instances/storage-1` },
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/x/y` },
        { path: `/app_instances/${A}/storage_instances/%E0%A4%A/volumes/volume-1` },
        { path: `/app_instances/__proto__/storage_instances/storage-1/volumes/volume-1` },
        { path: `/app_templates/${A}/storage_instances/storage-1/volumes/volume-1` },
        ...(variant === 'clone' ? [] : [{ path: `/app_instances/${B}/storage_instances/storage-1/volumes/volume-1` }]),
      ])),
    () =>
      (b.clone_snapshot_src = r.pick([
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/snapshots/1.000000000` },
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/snapshots` },
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/snapshots/%E0%A4%A` },
        { path: `/app_instances/${A}/storage_instances/storage-1/volumes/volume-2/snapshots/__proto__` },
        { path: 42 },
        'snap',
      ])),
  ];
  if (variant === 'sis' && si)
    choices.push(
      () => (si.name = r.pick(BAD_SUB_NAMES)),
      () => (si.ip_pool = r.pick([...BAD_REFS('access_network_ip_pools'), { path: '/access_network_ip_pools/other' }, { path: '/access_network_ip_pools/__proto__' }])),
      () =>
        (si.auth = r.pick([
          'none',
          5,
          [],
          { type: 'chap' },
          { type: 'chap', target_user_name: 'u', target_pswd: 'short' },
          { type: 'chap', target_user_name: 'u', target_pswd: 'x'.repeat(17) },
          { type: 'chap', target_user_name: '', target_pswd: 'x'.repeat(12) },
          { type: 'mchap', target_user_name: 'u', target_pswd: 'x'.repeat(12), initiator_user_name: 'i' },
          { type: 'kerberos' },
          { type: 5 },
          { type: 'none', target_user_name: 5 },
          { type: 'none', initiator_pswd: [] },
        ])),
      () => (si.volumes = r.pick(['x', {}, 5, [5], [{}], [null], [[]], [validVolume(r), validVolume(r)], [{ ...validVolume(r), name: 'volume-1' }, { ...validVolume(r), name: 'volume-1' }]])),
      () => (si.acl_policy = r.pick(['x', 5, [], { initiators: 'x' }, { initiators: [I1] }, { initiators: [{ path: 5 }] }, { initiators: [{ path: '/initiator_groups/x' }] }, { initiator_groups: [{ name: 'g' }] }, { initiator_groups: 'g' }, { initiators: [{ path: '/initiators/%' }] }])),
    );
  if (variant === 'sis' && vol)
    choices.push(
      () => (vol.size = r.pick(BAD_SIZES)),
      () => delete vol.size,
      () => (vol.replica_count = r.pick(BAD_REPLICAS)),
      () => (vol.name = r.pick(BAD_SUB_NAMES)),
      () => (vol.placement_mode = r.pick([5, [], {}, true])),
      () => (vol.performance_policy = { ...(isRecord(vol.performance_policy) ? vol.performance_policy : {}), [r.pick(QOS)]: badQos(r) }),
      () => (vol.performance_policy = r.pick(['fast', 5, [], true])),
      () => (vol.placement_policy = r.pick(BAD_REFS('placement_policies'))),
    );
  if (variant === 'tpl')
    choices.push(() => {
      const volOv = r.pick<Record<string, unknown>>([
        { size: r.pick(BAD_SIZES) },
        { replica_count: r.pick(BAD_REPLICAS) },
        { placement_mode: r.pick([5, [], {}, true]) },
        { performance_policy: { [r.pick(QOS)]: badQos(r) } },
        { performance_policy: 'fast' },
      ]);
      b.template_override = r.pick([
        'x',
        5,
        [],
        { storage_instances: 'x' },
        { storage_instances: [] },
        { storage_instances: { 'storage-1': 'x' } },
        { storage_instances: { 'storage-1': { volumes: 'x' } } },
        { storage_instances: { 'storage-1': { volumes: { 'volume-1': 'x' } } } },
        { storage_instances: { 'storage-1': { volumes: { 'volume-1': volOv } } } },
      ]);
    });
  r.pick(choices)();
}

const genCreateAi: Gen = (r, w) => {
  const variant = r.pick(['sis', 'sis', 'tpl', 'clone'] as const);
  const name = `OS-fz-${r.hex(6)}`;
  const b: Record<string, unknown> =
    variant === 'sis'
      ? { name, create_mode: 'openstack', storage_instances: [validSi(r)] }
      : variant === 'tpl'
        ? { name, app_template: { path: `/app_templates/${r.pick(['basic', 'small', 'mysql'])}` }, ...(r.chance(0.5) ? { template_override: { storage_instances: { 'storage-1': { volumes: { 'volume-1': { size: '3' } } } } } } : {}) }
        : { name, clone_src: { path: `/app_instances/${A}` } };
  const n = 1 + (r.chance(0.3) ? r.int(3) : 0);
  for (let i = 0; i < n; i++) breakAiBody(r, b, variant);
  return { kind: 'create-ai', method: 'POST', path: withVersion(r, '/app_instances'), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const aiRef = (r: Rng, w: World, ai: string) => enc(ai === A && r.chance(0.3) ? w.aUuid : ai);

const genUpdateAi: Gen = (r, w) => {
  const ai = r.pick([A, B]);
  const b: Record<string, unknown> = r.pick<() => Record<string, unknown>>([
    () => ({ name: r.pick(['OS-other', B === ai ? A : B, 5, '1x', '', [], {}, true]) }),
    () => ({ descr: r.pick([5, [], {}, true, 1.5]) }),
    () => ({ admin_state: r.pick(['up', 'ONLINE', 5, '', [], true]) }),
    () => ({ admin_state: r.pick(['offline', 'online']), force: r.pick(['nah', 5, [], {}, 'yes', 1, 'TRUE']) }),
    () => ({ descr: 'changed-then-rolled-back', admin_state: 'sideways' }),
    () => ({ descr: 'changed-then-rolled-back', admin_state: 'offline', force: 2 }),
    () => ({ name: ai, descr: 'ok', admin_state: 'offline', force: 'maybe' }),
  ])();
  return { kind: 'update-ai', method: 'PUT', path: withVersion(r, `/app_instances/${aiRef(r, w, ai)}`), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genDeleteAi: Gen = (r, w) => {
  const ai = r.pick([A, B]);
  const body = r.pick<() => string | Buffer | undefined>([
    () => undefined,
    () => jsonBody({}),
    () => jsonBody({ force: r.pick(['nah', 5, [], {}, 'yes', 1, 'TRUE', 'True']) }),
    () => jsonBody({ force: false }),
    () => jsonBody({ force: 'false' }),
    () => badJsonText(r),
    () => jsonBody(withKey({}, '__proto__', { force: true })),
    () => jsonBody({ params: { force: true } }),
  ])();
  const q = r.chance(0.3) ? `?force=${r.pick(['1', 'yes', 'TRUE', 'True', '', 'false', 'true%20', '%74rue'])}` : '';
  // An online instance is not deleted without force; every force given here is not a real true.
  // ('%74rue' decodes to 'true' in the query: keep it only with a body force that is false or broken.)
  let b = body;
  if (q === '?force=%74rue' && (b === undefined || typeof b !== 'string' || !/"force":(false|"false"|"nah"|5|\[\]|\{\}|"yes"|1|"TRUE"|"True")/.test(b))) b = jsonBody({ force: 'nah' });
  return { kind: 'delete-ai', method: 'DELETE', path: withVersion(r, `/app_instances/${aiRef(r, w, ai)}${q}`), headers: headers(r, w), body: b };
};

const genMetadata: Gen = (r, w) => {
  const ai = r.pick([A, B]);
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ ok: 'fine', [r.pick(['n', 'k', 'fs_type', 'x'.repeat(100)])]: r.pick(JUNK.filter((v) => typeof v !== 'string')) }),
    () => ({ big: 'x'.repeat(2100 + r.int(5000)) }),
    () => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key-${i}`, `value-${i}`])),
    () => withKey({}, '__proto__', { polluted: 'yes' }),
    () => withKey({ a: 'b' }, 'constructor', { prototype: { polluted: 'yes' } }),
    () => ({ nested: { a: 'b' } }),
    () => ({ list: ['a'] }),
    () => ({ n: null }),
  ])();
  return { kind: 'metadata', method: 'PUT', path: withVersion(r, `/app_instances/${aiRef(r, w, ai)}/metadata`), headers: headers(r, w), body: jsonBody(b) };
};

const genEcosystem: Gen = (r, w) => {
  const ai = r.pick([A, B]);
  const body = r.pick<() => string>([
    () => jsonBody(noise(r, { data: r.pick(['x', 5, [], true, [{}], 1.5]) })),
    () => jsonBody(noise(r, {})),
    () => jsonBody({ data: null }),
    () => jsonBody({ other: { k: 1 } }),
    () => `{"data":${deep(500 + r.int(20_000))}}`,
    () => {
      const n = 600 + r.int(50_000);
      return `{"data":{"a":${'['.repeat(n)}1${']'.repeat(n)}}}`;
    },
  ])();
  return { kind: 'ecosystem', method: 'PUT', path: withVersion(r, `/app_instances/${aiRef(r, w, ai)}/int_ecosystem_data`), headers: headers(r, w), body };
};

const siPathOf = (r: Rng, w: World, s: { ai: string; si: string }) => `/app_instances/${aiRef(r, w, s.ai)}/storage_instances/${s.si}`;

const genUpdateSi: Gen = (r, w) => {
  const s = r.pick(SIS);
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ ip_pool: r.pick([...BAD_REFS('access_network_ip_pools'), { path: '/access_network_ip_pools/other' }, { path: '/access_network_ip_pools/__proto__' }]) }),
    () => ({ admin_state: r.pick(['up', 'ONLINE', 5, '', [], true, {}]) }),
    () => ({ admin_state: r.pick(['offline', 'online']), force: r.pick(['nah', 5, [], {}, 'yes', 1]) }),
    () => ({ ip_pool: { path: '/access_network_ip_pools/default' }, admin_state: 'dormant' }),
  ])();
  return { kind: 'update-si', method: 'PUT', path: withVersion(r, siPathOf(r, w, s)), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const BAD_INIT_REFS: unknown[] = [
  I1,
  `/initiators/${I1}`,
  5,
  null,
  [],
  {},
  { path: 5 },
  { path: null },
  { path: '/initiators/' },
  { path: '/initiators/iqn.1993-08.org.debian:01:missing' },
  { path: `/initiator_groups/${G1}` },
  { path: '/initiators/__proto__' },
  { path: '/initiators/constructor' },
  { path: '/initiators/toString' },
  { path: '/initiators/%E0%A4%A' },
  { path: '/initiators/%' },
  { id: I1 },
  [{ path: `/initiators/${I1}` }],
];
const BAD_GROUP_REFS: unknown[] = [
  G1,
  `/initiator_groups/${G1}`,
  5,
  null,
  {},
  { path: '/initiator_groups/' },
  { path: '/initiator_groups/missing-group' },
  { path: `/initiators/${I1}` },
  { path: '/initiator_groups/__proto__' },
  { path: '/initiator_groups/hasOwnProperty' },
  { path: '/initiator_groups/%C0%AF' },
  { name: G1 },
];

const genAcl: Gen = (r, w) => {
  const s = r.pick(SIS);
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ initiators: r.pick(['x', 5, {}, true, I1]) }),
    () => ({ initiator_groups: r.pick(['x', 5, {}, true, G1]) }),
    () => ({ initiators: [{ path: `/initiators/${I1}` }, r.pick(BAD_INIT_REFS)] }),
    () => ({ initiators: [r.pick(BAD_INIT_REFS)] }),
    () => ({ initiator_groups: [r.pick(BAD_GROUP_REFS)] }),
    () => ({ initiators: [{ path: `/initiators/${I2}` }], initiator_groups: r.pick(['bad', [r.pick(BAD_GROUP_REFS)]]) }),
  ])();
  return { kind: 'acl', method: 'PUT', path: withVersion(r, `${siPathOf(r, w, s)}/acl_policy`), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genAclOp: Gen = (r, w) => {
  const s = r.pick(SIS);
  const kind = r.pick(['initiators', 'initiator_groups'] as const);
  const existing = kind === 'initiators' ? [I1, I2] : [G1];
  const present = kind === 'initiators' ? s.inits : s.groups;
  const absent = existing.filter((x) => !present.includes(x));
  const refOf = (n: string) => `/${kind}/${n}`;
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ path: refOf(existing[0]!) }),
    () => ({ op: r.pick(['ADD', 'delete', 5, '', [], 'add ', {}, true]), path: refOf(existing[0]!) }),
    () => ({ op: r.pick(['add', 'remove']), path: r.pick([5, null, [], {}, `/${kind}/`, `/${kind}/missing-thing`, `/${kind}/__proto__`, `/${kind}/constructor`, `/${kind}/toString`, `/${kind}/%E0%A4%A`, `/${kind === 'initiators' ? 'initiator_groups' : 'initiators'}/x`, `${kind}/x`]) }),
    () => ({ op: 'add' }),
    () => (present.length ? { op: 'add', path: refOf(r.pick(present)) } : { op: 'add', path: `/${kind}/missing-thing` }),
    () => (absent.length ? { op: 'remove', path: refOf(r.pick(absent)) } : { op: 'remove', path: `/${kind}/missing-thing` }),
  ])();
  return { kind: 'acl-op', method: 'PUT', path: withVersion(r, `${siPathOf(r, w, s)}/acl_policy/${kind}`), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genAuth: Gen = (r, w) => {
  const s = r.pick(SIS);
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ type: r.pick(['chap ', 'CHAP', 'kerberos', 5, '', [], true]) }),
    () => ({ type: 'chap' }),
    () => ({ type: 'chap', target_user_name: 'user', target_pswd: r.pick(['short', 'x'.repeat(17), '', 'x'.repeat(11)]) }),
    () => ({ type: 'chap', target_user_name: r.pick(['', 5, [], {}]), target_pswd: 'x'.repeat(12) }),
    () => ({ type: 'mchap', target_user_name: 'user', target_pswd: 'x'.repeat(14), initiator_user_name: 'init', initiator_pswd: r.pick(['x', '', 'y'.repeat(40)]) }),
    () => ({ type: 'mchap', target_user_name: 'user', target_pswd: 'x'.repeat(14) }),
    () => ({ type: 'none', [r.pick(['target_user_name', 'target_pswd', 'initiator_user_name', 'initiator_pswd'])]: r.pick([5, [], {}, true]) }),
  ])();
  return { kind: 'auth', method: 'PUT', path: withVersion(r, `${siPathOf(r, w, s)}/auth`), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const volPathOf = (r: Rng, w: World, v: (typeof VOLS)[number]) => `${siPathOf(r, w, v)}/volumes/${v.vol}`;

const genUpdateVolume: Gen = (r, w) => {
  const v = r.pick(VOLS);
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ size: r.pick(BAD_SIZES) }),
    () => ({ size: v.size > 1 ? 1 : 0 }),
    () => ({ size: v.size + 1, replica_count: r.pick(BAD_REPLICAS) }),
    () => ({ replica_count: r.pick(BAD_REPLICAS) }),
    () => ({ size: v.size + 2, placement_mode: r.pick([5, [], {}, true]) }),
    () => ({ replica_count: 2, size: r.pick(BAD_SIZES) }),
  ])();
  return { kind: 'update-volume', method: 'PUT', path: withVersion(r, volPathOf(r, w, v)), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genPerf: Gen = (r, w) => {
  const v = r.pick(VOLS);
  const b: Record<string, unknown> = {};
  for (const f of QOS) if (r.chance(0.3)) b[f] = r.int(1000);
  const nBad = 1 + r.int(2);
  for (let i = 0; i < nBad; i++) b[r.pick(QOS)] = badQos(r);
  return { kind: 'perf', method: r.pick(['POST', 'PUT']), path: withVersion(r, `${volPathOf(r, w, v)}/performance_policy`), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genSnapshot: Gen = (r, w) => {
  const v = r.pick(VOLS);
  const dup = v.ai === A && v.si === 'storage-1' && v.vol === 'volume-1' && r.chance(0.4);
  const uuid = dup ? SNAP_UUID : r.pick<unknown>(['x', 5, '', 'not-a-uuid', SNAP_UUID.replace(/0$/, 'g'), SNAP_UUID + '0', `{${SNAP_UUID}}`, [], {}, true, SNAP_UUID.replace(/-/g, '')]);
  return { kind: 'snapshot', method: 'POST', path: withVersion(r, `${volPathOf(r, w, v)}/snapshots`), headers: headers(r, w), body: jsonBody(noise(r, { uuid })) };
};

const genInitiators: Gen = (r, w) => {
  const c = r.int(5);
  if (c === 3) {
    // PUT an existing initiator with a bad name
    return { kind: 'initiator', method: 'PUT', path: withVersion(r, `/initiators/${enc(r.pick([I1, I2]))}`), headers: headers(r, w), body: jsonBody(noise(r, { name: r.pick([5, '1x', 'ab', 'x'.repeat(200), 'ü-node', [], {}, true, '']) })) };
  }
  if (c === 4) {
    // DELETE one in use (ACL for I1, group membership for both)
    return { kind: 'initiator', method: 'DELETE', path: withVersion(r, `/initiators/${enc(r.pick([I1, I2]))}`), headers: headers(r, w), body: r.chance(0.5) ? undefined : jsonBody({ force: true }) };
  }
  const fresh = `iqn.2024-01.com.fuzz:${r.hex(10)}`;
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ name: 'fz-node' }),
    () => ({ id: r.pick([5, null, [], {}, true, '', 'not-an-iqn', 'iqn.2000-01.a', 'eui.123', 'IQN.2000-01.com.x:abc', 'iqn.2000-01.com.example:has space', `iqn.2000-01.com.x:${'a'.repeat(300)}`, 'iqn.20-01.com.x:abc', 'eui.0123456789abcdeg', '__proto__', 'constructor']) }),
    () => ({ id: fresh, name: r.pick([5, '1x', 'ab', 'x'.repeat(200), 'ü-node', [], {}, true, '', 'a/b']) }),
    () => ({ id: r.pick([I1, I2]), name: 'fz-node' }),
    () => ({ id: r.pick([I1, I2]), force: r.pick(['maybe', 5, [], {}, 'yes']) }),
    () => ({ id: fresh, force: true, name: 5 }),
  ])();
  return { kind: 'initiator', method: 'POST', path: withVersion(r, '/initiators'), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genGroups: Gen = (r, w) => {
  const c = r.int(4);
  if (c === 2) return { kind: 'group', method: 'PUT', path: withVersion(r, `/initiator_groups/${G1}`), headers: headers(r, w), body: jsonBody(noise(r, { members: r.pick(['x', 5, {}, true, [I1], [r.pick(BAD_INIT_REFS)], [{ path: `/initiators/${I1}` }, r.pick(BAD_INIT_REFS)]]) })) };
  if (c === 3) return { kind: 'group', method: 'DELETE', path: withVersion(r, `/initiator_groups/${G1}`), headers: headers(r, w), body: r.chance(0.5) ? undefined : jsonBody({ force: true }) };
  const b = r.pick<() => Record<string, unknown>>([
    () => ({ name: r.pick([undefined, null, 5, '1x', 'ab', 'x'.repeat(200), 'ü', [], {}, true, '', G1, '__proto__']), members: [] }),
    () => ({ name: `fz-group-${r.hex(4)}`, members: r.pick(['x', 5, {}, true, [I1], [r.pick(BAD_INIT_REFS)]]) }),
    () => ({ name: G1, members: [{ path: `/initiators/${I1}` }] }),
  ])();
  return { kind: 'group', method: 'POST', path: withVersion(r, '/initiator_groups'), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genTemplates: Gen = (r, w) => {
  if (r.chance(0.15)) return { kind: 'template', method: 'DELETE', path: withVersion(r, `/app_templates/${r.pick(['missing-tpl', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'BASIC', 'basic%20'])}`), headers: headers(r, w) };
  const st = () => ({ name: 'storage-1', ip_pool: { path: '/access_network_ip_pools/default' }, volume_templates: [validVolume(r)] });
  const b: Record<string, unknown> = { name: `fz-tpl-${r.hex(4)}`, descr: 'fuzz', storage_templates: [st()] };
  const s0 = (b.storage_templates as Record<string, unknown>[])[0]!;
  r.pick<() => void>([
    () => (b.name = r.pick([undefined, null, 5, '1x', 'ab', 'x'.repeat(300), [], {}, 'basic', 'small', '__proto__', 'a b'])),
    () => (b.descr = r.pick([5, [], {}, true])),
    () => (b.storage_templates = r.pick([undefined, null, [], 'x', 5, {}, [5], [null], [[]]])),
    () => (s0.volume_templates = r.pick([[], 'x', 5, {}, [5], [{}], [{ size: 0 }], [{ size: 1, replica_count: 9 }], [{ size: 1, name: '1x' }], [{ size: 1, performance_policy: { total_iops_max: -1 } }]])),
    () => delete s0.volume_templates,
    () => (s0.name = r.pick(BAD_SUB_NAMES)),
    () => (s0.ip_pool = r.pick([...BAD_REFS('access_network_ip_pools'), { path: '/access_network_ip_pools/other' }])),
  ])();
  if (b.name === undefined) delete b.name;
  if (b.storage_templates === undefined) delete b.storage_templates;
  return { kind: 'template', method: 'POST', path: withVersion(r, '/app_templates'), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const genTenants: Gen = (r, w) => {
  const b = { name: r.pick<unknown>([undefined, null, 5, '1x', '', 'x'.repeat(65), 'x'.repeat(300), 'a b', 'a/b', 'ü', [], {}, true, TEN, '-x', '.x']) };
  if (b.name === undefined) delete b.name;
  return { kind: 'tenant', method: 'POST', path: withVersion(r, '/tenants'), headers: headers(r, w), body: jsonBody(noise(r, b)) };
};

const SEMANTIC: [number, Gen][] = [
  [8, genCreateAi],
  [3, genUpdateAi],
  [2, genDeleteAi],
  [2, genMetadata],
  [2, genEcosystem],
  [2, genUpdateSi],
  [2, genAcl],
  [3, genAclOp],
  [2, genAuth],
  [2, genUpdateVolume],
  [2, genPerf],
  [2, genSnapshot],
  [3, genInitiators],
  [2, genGroups],
  [2, genTemplates],
  [1, genTenants],
];

const TOP: [number, Gen][] = [
  [10, genBadAuth],
  [6, genBadTenant],
  [8, genUnknownRoute],
  [6, genWrongMethod],
  [4, genBadEncoding],
  [1, genLongPath],
  [9, genBadJson],
  [14, genMissing],
  [5, genBadQuery],
  [3, genBadLogin],
  [1, genBadControl],
  ...SEMANTIC.map(([wt, g]) => [wt * 1.2, g] as [number, Gen]),
];

function weighted(r: Rng, table: [number, Gen][]): Gen {
  const total = table.reduce((n, [wt]) => n + wt, 0);
  let x = r.next() * total;
  for (const [wt, g] of table) if ((x -= wt) < 0) return g;
  return table[table.length - 1]![1];
}

/**
 * Cases the generators found that broke the mock (a crash, a 5xx, a change of state or Object.prototype), kept
 * verbatim so every seed runs them.
 */
function regressions(w: World): Case[] {
  const h = { 'Auth-Token': w.key, 'Content-Type': 'application/json' };
  const c = (method: string, path: string, body?: string): Case => ({ kind: 'regression', method, path, headers: h, body });
  const acl = `/v2.2/app_instances/${A}/storage_instances/storage-2/acl_policy`;
  const tpl = { storage_templates: [{ name: 'storage-1', volume_templates: [{ name: 'volume-1', size: 1 }] }] };
  return [
    c('GET', '//['), // new URL() threw outside the handler's try: an unhandled rejection that ended the process
    c('GET', '/v2.2/app_instances/toString'), // found Object.prototype.toString: 500
    c('PUT', '/v2.2/initiators/__proto__', jsonBody({ name: 'polluted-name' })), // set Object.prototype.name
    c('PUT', '/v2.2/initiator_groups/__proto__', jsonBody({ members: [] })), // set Object.prototype.members
    c('PUT', `${acl}/initiators`, jsonBody({ op: 'add', path: '/initiators/constructor' })), // 200, added a missing initiator
    c('PUT', `${acl}/initiator_groups`, jsonBody({ op: 'add', path: '/initiator_groups/hasOwnProperty' })),
    c('GET', '/v2.2/initiators/constructor'), // 200 for an initiator that does not exist
    c('DELETE', '/v2.2/app_templates/constructor'), // 500
    c('PUT', acl, jsonBody({ initiators: [{ path: '/initiators/%' }] })), // URIError: 500
    c('POST', '/v2.2/app_instances', jsonBody({ name: 'OS-fz-clone', clone_src: { path: '/app_instances/%E0%A4%A' } })), // URIError: 500
    c('POST', '/v2.2/app_instances', jsonBody({ name: '__proto__', storage_instances: [] })), // would set the prototype of app_instances
    c('POST', '/v2.2/initiator_groups', jsonBody({ name: '__proto__', members: [] })),
    c('POST', '/v2.2/app_templates', jsonBody({ name: '__proto__', ...tpl })),
    c('GET', '/v2.2/app_instances/missing-ai/snapshots'), // 200 for an app_instance that does not exist
    c('PUT', `/v2.2/app_instances/${A}/int_ecosystem_data`, `{"data":${deep(5000)}}`), // stack overflow saving it; later changes all 500
    c('GET', `/v2.2/app_instances/${'z'.repeat(20_000)}`), // Node's bare 431 without a Datera body
    c('GET', '/v2.2/app_instances/\u00ff\u00fe'), // Node's bare 400 (invalid URL bytes) without a Datera body
  ];
}

function generate(seed: number, count: number, w: World): Case[] {
  const r = new Rng(seed);
  const out: Case[] = regressions(w);
  const hugeEvery = Math.max(1, Math.floor(count / HUGE_CASES));
  for (let i = 0; i < count; i++) {
    if (i % hugeEvery === hugeEvery - 1 && out.filter((c) => c.kind === 'huge-body').length < HUGE_CASES) out.push(genHugeBody(r, w));
    else if (i % 1000 === 500) out.push(genHugePath(r, w));
    else out.push(weighted(r, TOP)(r, w));
  }
  return out;
}

// ---- transport and checks ----

interface Answer {
  status: number;
  text: string;
}

function send(agent: Agent, base: string, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const headers: Record<string, string | number> = { ...c.headers };
    // Framing is explicit: Node sends a GET/DELETE/OPTIONS body without Content-Length otherwise.
    if (c.body !== undefined) {
      if (c.chunked) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = Buffer.byteLength(c.body);
    }
    const req = request({ host: u.hostname, port: u.port, method: c.method, path: c.path, headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    if (c.body === undefined) req.end();
    else if (c.chunked) {
      const buf = typeof c.body === 'string' ? Buffer.from(c.body) : c.body;
      const step = Math.max(1, Math.ceil(buf.length / 7));
      for (let i = 0; i < buf.length; i += step) req.write(buf.subarray(i, i + step));
      req.end();
    } else req.end(c.body);
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why an answer is not a 4xx Datera error, or undefined when it is one. */
function problem(a: Answer): string | undefined {
  if (a.status < 400 || a.status > 499) return `status ${a.status}`;
  let b: unknown;
  try {
    b = JSON.parse(a.text);
  } catch {
    return `status ${a.status} but the body is not JSON: ${JSON.stringify(a.text.slice(0, 120))}`;
  }
  if (!isRecord(b)) return 'body is not a JSON object';
  const bad: string[] = [];
  if (typeof b.name !== 'string' || !b.name.endsWith('Error')) bad.push(`name ${JSON.stringify(b.name)}`);
  if (typeof b.message !== 'string') bad.push('message not a string');
  if (!Number.isInteger(b.code)) bad.push(`code ${JSON.stringify(b.code)}`);
  if (!Number.isInteger(b.http) || b.http !== a.status) bad.push(`http ${JSON.stringify(b.http)} != status ${a.status}`);
  if (!Array.isArray(b.errors) || !b.errors.every((e) => typeof e === 'string')) bad.push('errors not a list of strings');
  if (!isRecord(b.params) || !Object.values(b.params).every((v) => typeof v === 'string')) bad.push('params not an object of strings');
  return bad.length ? `status ${a.status}, not Datera-shaped: ${bad.join('; ')}` : undefined;
}

function excerpt(body: string | Buffer | undefined): string {
  if (body === undefined) return '(none)';
  const s = typeof body === 'string' ? body : body.toString('latin1');
  return s.length > 200 ? `${s.slice(0, 200)}... (${s.length} chars)` : s;
}

const protoKeys = () => ({
  object: Object.getOwnPropertyNames(Object.prototype).sort().join(','),
  array: Object.getOwnPropertyNames(Array.prototype).sort().join(','),
  fn: Object.getOwnPropertyNames(Function.prototype).sort().join(','),
});

// ---- the test ----

async function seed(m: StartedMockDatera, agent: Agent): Promise<World> {
  const call = async (method: string, path: string, body?: unknown, key?: string) => {
    const a = await send(agent, m.url, { kind: 'seed', method, path: `/v2.2${path}`, headers: { 'Content-Type': 'application/json', ...(key ? { 'Auth-Token': key } : {}) }, body: body === undefined ? undefined : jsonBody(body) });
    if (a.status !== 200) throw new Error(`seeding ${method} ${path} answered ${a.status}: ${a.text.slice(0, 300)}`);
    return JSON.parse(a.text) as Record<string, unknown> & { data: Record<string, unknown> };
  };
  const { key } = (await call('PUT', '/login', { name: 'admin', password: PASSWORD })) as unknown as { key: string };
  const api = (method: string, path: string, body?: unknown) => call(method, path, body, key);
  await api('POST', '/tenants', { name: TEN });
  await api('POST', '/initiators', { id: I1, name: 'fuzz-node-1' });
  await api('POST', '/initiators', { id: I2, name: 'fuzz-node-2' });
  await api('POST', '/initiator_groups', { name: G1, members: [{ path: `/initiators/${I1}` }, { path: `/initiators/${I2}` }] });
  const a = await api('POST', '/app_instances', {
    name: A,
    create_mode: 'openstack',
    storage_instances: [
      { name: 'storage-1', ip_pool: { path: '/access_network_ip_pools/default' }, volumes: [{ name: 'volume-1', size: 2, replica_count: 3 }, { name: 'volume-2', size: 1, performance_policy: { total_iops_max: 500 } }] },
      { name: 'storage-2', volumes: [{ name: 'volume-1', size: 1 }] },
    ],
  });
  await api('POST', '/app_instances', { name: B, create_mode: 'kubernetes', app_template: { path: '/app_templates/basic' } });
  await api('PUT', `/app_instances/${A}/storage_instances/storage-1/acl_policy`, { initiators: [{ path: `/initiators/${I1}` }], initiator_groups: [{ path: `/initiator_groups/${G1}` }] });
  await api('PUT', `/app_instances/${A}/metadata`, { fs_type: 'ext4' });
  await api('PUT', `/app_instances/${B}/int_ecosystem_data`, { data: { pvc: 'fuzz' } });
  const snap = await api('POST', `/app_instances/${A}/storage_instances/storage-1/volumes/volume-1/snapshots`, { uuid: SNAP_UUID });
  return { aUuid: a.data.uuid as string, snapTs: snap.data.utc_ts as string, key };
}

t.test(`malformed requests get 4xx Datera errors and change nothing (seed ${SEED}, ${COUNT} cases)`, async (t) => {
  const started = Date.now();
  const m = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'none', users: { admin: PASSWORD } }).start();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(async () => {
    agent.destroy();
    await m.stop();
  });
  const protoBefore = protoKeys();
  const w = await seed(m, agent);
  const baseline = JSON.stringify((await m.snapshot()).state);
  m.clearRequests();

  const cases = generate(SEED, COUNT, w);
  t.comment(`seed ${SEED} (DKC_FUZZ_SEED=${SEED} DKC_FUZZ_COUNT=${COUNT} reproduces), ${cases.length} cases`);
  const failures: { i: number; kind: string; method: string; path: string; body: string; got: string }[] = [];
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      let why: string | undefined;
      try {
        const a = await send(agent, m.url, c);
        why = problem(a);
        const k = `${c.kind} ${a.status}`;
        statuses.set(k, (statuses.get(k) ?? 0) + 1);
        if (why && a.status < 400) why += `: ${a.text.slice(0, 160)}`;
      } catch (err) {
        why = `transport error: ${(err as Error).message}`;
      }
      if (why) failures.push({ i, kind: c.kind, method: c.method, path: c.path.length > 200 ? `${c.path.slice(0, 200)}... (${c.path.length} chars)` : c.path, body: excerpt(c.body), got: why });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  failures.sort((a, b) => a.i - b.i);
  const byKind = new Map<string, number>();
  for (const c of cases) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
  t.comment(`cases by kind: ${[...byKind].map(([k, n]) => `${k}=${n}`).join(' ')}`);
  t.comment(`answers: ${[...statuses].sort().map(([k, n]) => `${k}:${n}`).join(' ')}`);

  t.equal(failures.length, 0, `every malformed request gets a 4xx Datera error (seed ${SEED}; first ${Math.min(20, failures.length)} of ${failures.length} shown)`, {
    failures: failures.slice(0, 20),
  });

  const sys = await send(agent, m.url, { kind: 'check', method: 'GET', path: '/v2.2/system', headers: { 'Auth-Token': w.key } });
  t.equal(sys.status, 200, 'the server still answers GET /system');
  const fivexx = m.requests().filter((r) => r.status >= 500);
  t.equal(fivexx.length, 0, 'no 5xx in the request log', { first: fivexx.slice(0, 20).map((r) => ({ method: r.method, path: r.path.slice(0, 200), status: r.status })) });
  const after = JSON.stringify((await m.snapshot()).state);
  t.equal(after === baseline, true, `state is unchanged (seed ${SEED})`, after === baseline ? {} : { firstDifferenceAt: firstDiff(baseline, after), baseline: around(baseline, firstDiff(baseline, after)), after: around(after, firstDiff(baseline, after)) });
  t.same(protoKeys(), protoBefore, 'no new properties on Object/Array/Function prototypes');
  const probe: Record<string, unknown> = {};
  t.equal(probe.polluted, undefined, 'Object.prototype.polluted is not set');
  t.equal(probe.members, undefined, 'Object.prototype.members is not set');
  t.comment(`fuzz run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

function firstDiff(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function around(s: string, i: number): string {
  return s.slice(Math.max(0, i - 150), i + 150);
}

// Found alongside: a change that waited for the lock behind a request that failed and rolled back used the tenant
// object the rollback had just replaced, so it answered 200 and its change was lost.
t.test('a rolled-back bad request does not lose a good change queued behind it', async (t) => {
  const m = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'none', users: { admin: PASSWORD } }).start();
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(async () => {
    agent.destroy();
    await m.stop();
  });
  const call = (method: string, path: string, key?: string, body?: unknown) =>
    send(agent, m.url, { kind: 'race', method, path: `/v2.2${path}`, headers: { 'Content-Type': 'application/json', ...(key ? { 'Auth-Token': key } : {}) }, body: body === undefined ? undefined : jsonBody(body) });
  const { key } = JSON.parse((await call('PUT', '/login', undefined, { name: 'admin', password: PASSWORD })).text) as { key: string };
  t.equal((await call('POST', '/app_instances', key, { name: 'OS-race', storage_instances: [{ volumes: [{ size: 50 }] }] })).status, 200);
  const answers: number[] = [];
  for (let i = 0; i < 5; i++) {
    const rs = await Promise.all([
      call('POST', '/app_instances/OS-race/storage_instances/storage-1/volumes/volume-1/snapshots', key, {}), // holds the lock a while (copies the file)
      call('PUT', '/app_instances/OS-race/metadata', key, { bad: 1 }), // fails and rolls back
      call('PUT', '/app_instances/OS-race/metadata', key, { [`k${i}`]: 'v' }), // good, queued behind both
    ]);
    answers.push(...rs.map((r) => r.status));
  }
  t.same(answers, [200, 422, 200, 200, 422, 200, 200, 422, 200, 200, 422, 200, 200, 422, 200]);
  const md = JSON.parse((await call('GET', '/app_instances/OS-race/metadata', key)).text) as { data: Record<string, string> };
  t.same(md.data, { k0: 'v', k1: 'v', k2: 'v', k3: 'v', k4: 'v' }, 'every change that answered 200 is in the state');
});
