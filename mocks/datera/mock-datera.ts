/**
 * The mock Datera DSP management API. `MockDatera` is the configured object, `StartedMockDatera` the running one.
 *
 * Wire contract (see README "Mock Datera API"): HTTP and HTTPS (self-signed, generated at start) serving /v2, /v2.1,
 * /v2.2 and /v2.3; PUT /login (JSON or form-encoded) answers a top-level `key`; every other Datera path needs an
 * Auth-Token (401 AuthFailedError with the exact invalid-session text otherwise); bodies are enveloped
 * {tenant, path, version, data} with list metadata; errors are Datera-shaped. /__mock/... is the control API.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { mkdtemp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { run } from '../../lib/exec.js';
import { HarnessError } from '../../lib/errors.js';
import type { StartedTargetHost, TargetHost, TargetState } from '../tgt/target-host.js';
import { DateraApi, assertKnownTenant, type ApiRequest, type ApiResult } from './api.js';
import { DateraError, errorBody, INVALID_SESSION_MESSAGE, type DateraErrorName } from './errors.js';
import { IscsiBackend } from './iscsi-backend.js';
import { newTenant, seedTemplates, type MockState } from './model.js';
import { apiSchema } from './schema.js';
import { isObject, type Body } from './validate.js';

export const API_VERSIONS = ['v2', 'v2.1', 'v2.2', 'v2.3'] as const;

export type TargetsMode = 'process' | 'container' | 'none';

export interface MockDateraOptions {
  /** Plain HTTP port; default 7717, 0 picks a free one. */
  httpPort?: number;
  /** HTTPS port; default 7718, 0 picks a free one, null turns HTTPS off. */
  httpsPort?: number | null;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Where state.json and the volume files live. Kept after stop (so a restart finds its data); default a temp dir removed on stop. */
  stateDir?: string;
  /** Accounts: name -> password. Default one account `admin` with a generated password. */
  users?: Record<string, string>;
  /** Idle seconds after which a session key stops working (the real lifetime is not documented). Default 3600. */
  sessionIdleSeconds?: number;
  /** Where storage instances become iSCSI targets: a host tgtd (default), a tgt container, none (REST only), or a host you made. */
  targets?: TargetsMode | TargetHost;
  /** Portal IPs reported when targets is 'none'. */
  fallbackIps?: string[];
  swVersion?: string;
  offlineRequiresForce?: boolean;
  deleteRequiresOffline?: boolean;
  maxBodyBytes?: number;
  /** Requests kept in the log (oldest dropped first). */
  requestLogLimit?: number;
}

export interface Fault {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Regular expression matched against the path after the version prefix, e.g. "^/app_instances". */
  path: string;
  latencyMs?: number;
  /** Answer with this status and a Datera error body instead of handling the request. */
  status?: number;
  name?: DateraErrorName;
  message?: string;
  /** How many matching requests the fault applies to; unlimited when absent. */
  count?: number;
}

export interface LoggedRequest {
  id: number;
  time: string;
  method: string;
  path: string;
  tenant: string;
  status: number;
  durationMs: number;
  body?: unknown;
}

export interface MockSnapshot {
  state: MockState;
  targets: TargetState[];
  portals: string[];
  sessions: number;
}

export class MockDatera {
  constructor(readonly options: MockDateraOptions = {}) {}

  async start(): Promise<StartedMockDatera> {
    const o = this.options;
    const ownDir = !o.stateDir;
    const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), 'dkc-datera-')));
    await mkdir(stateDir, { recursive: true });
    const users = o.users ?? { admin: randomBytes(9).toString('base64url') };
    let host: StartedTargetHost | undefined;
    const mode = o.targets ?? 'process';
    const hostOpts = { runDir: join(stateDir, 'run'), dataDirs: [join(stateDir, 'volumes')] };
    await mkdir(hostOpts.runDir, { recursive: true });
    try {
      if (mode === 'process') {
        const { ProcessTargetHost } = await import('../tgt/process-target-host.js');
        host = await new ProcessTargetHost(hostOpts).start();
      } else if (mode === 'container') {
        const { ContainerTargetHost } = await import('../tgt/container-target-host.js');
        host = await new ContainerTargetHost(hostOpts).start();
      } else if (mode !== 'none') host = await mode.start();
      const started = new StartedMockDatera(o, stateDir, ownDir, users, host);
      await started.listen();
      return started;
    } catch (err) {
      await host?.stop().catch(() => undefined);
      if (ownDir) await rm(stateDir, { recursive: true, force: true });
      throw err;
    }
  }
}

export class StartedMockDatera {
  readonly stateDir: string;
  readonly users: Readonly<Record<string, string>>;
  private readonly api: DateraApi;
  private readonly backend: IscsiBackend;
  private readonly sessions = new Map<string, { user: string; lastUsed: number }>();
  private faults: (Fault & { id: number; re: RegExp })[] = [];
  private log: LoggedRequest[] = [];
  private seq = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private servers: Server[] = [];
  private httpPortNo = 0;
  private httpsPortNo: number | undefined;
  private stopped = false;
  private readonly statePath: string;

  constructor(
    private readonly opts: MockDateraOptions,
    stateDir: string,
    private readonly ownDir: boolean,
    users: Record<string, string>,
    readonly targetHost: StartedTargetHost | undefined,
  ) {
    this.stateDir = stateDir;
    this.users = users;
    this.statePath = join(stateDir, 'state.json');
    this.backend = new IscsiBackend(join(stateDir, 'volumes'), targetHost, opts.fallbackIps ?? ['127.0.0.1', '127.0.0.2']);
    const state: MockState = { formatVersion: 1, systemUuid: randomUUID(), tenants: { '/root': { ...newTenant('/root'), app_templates: seedTemplates() } } };
    this.api = new DateraApi(state, this.backend, {
      swVersion: opts.swVersion ?? '3.3.5.0',
      offlineRequiresForce: opts.offlineRequiresForce ?? true,
      deleteRequiresOffline: opts.deleteRequiresOffline ?? true,
      capacityBytes: 100 * 2 ** 40,
      storageNodes: [randomUUID(), randomUUID(), randomUUID()],
    });
  }

  /** Load saved state (restoring online targets), then open the HTTP and HTTPS listeners. */
  async listen(): Promise<void> {
    await this.backend.init();
    await this.load();
    const host = this.opts.host ?? '127.0.0.1';
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const http = createHttp(handler);
    http.on('clientError', clientError);
    await listenOn(http, this.opts.httpPort ?? 7717, host);
    this.servers.push(http);
    this.httpPortNo = (http.address() as AddressInfo).port;
    if (this.opts.httpsPort !== null) {
      const { key, cert } = await selfSignedCert(join(this.stateDir, 'run'), host);
      const https = createHttps({ key, cert }, handler);
      https.on('clientError', clientError);
      await listenOn(https, this.opts.httpsPort ?? 7718, host);
      this.servers.push(https);
      this.httpsPortNo = (https.address() as AddressInfo).port;
    }
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.httpPortNo}`;
  }

  get httpsUrl(): string | undefined {
    return this.httpsPortNo === undefined ? undefined : `https://${this.opts.host ?? '127.0.0.1'}:${this.httpsPortNo}`;
  }

  /** "host:port" of the plain HTTP listener: what a FlexVolume secret's `server` holds. */
  get server(): string {
    return `${this.opts.host ?? '127.0.0.1'}:${this.httpPortNo}`;
  }

  get credentials(): { user: string; password: string } {
    const [user, password] = Object.entries(this.users)[0]!;
    return { user, password };
  }

  get portals(): string[] {
    return this.backend.ips().map((ip) => `${ip}:3260`);
  }

  injectFault(f: Fault): number {
    if (typeof f.path !== 'string') throw new HarnessError('BAD_INPUT', 'a fault needs a path (a regular expression string)');
    let re: RegExp;
    try {
      re = new RegExp(f.path);
    } catch (err) {
      throw new HarnessError('BAD_INPUT', `fault path is not a valid regular expression: ${f.path}`, { cause: err });
    }
    if (f.status !== undefined && (!Number.isInteger(f.status) || f.status < 400 || f.status > 599))
      throw new HarnessError('BAD_INPUT', `fault status must be an HTTP error status 400-599, got ${f.status}`);
    const id = ++this.seq;
    this.faults.push({ ...f, id, re });
    return id;
  }

  clearFaults(): void {
    this.faults = [];
  }

  revokeSessions(): void {
    this.sessions.clear();
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  requests(): LoggedRequest[] {
    return [...this.log];
  }

  clearRequests(): void {
    this.log = [];
  }

  async portalDown(portal: string): Promise<void> {
    await this.requireHost().portalDown(portal);
  }

  async portalUp(portal: string): Promise<void> {
    await this.requireHost().portalUp(portal);
  }

  async hostDown(): Promise<void> {
    await this.requireHost().hostDown();
  }

  async hostUp(): Promise<void> {
    await this.requireHost().hostUp();
  }

  /** State (secrets hidden), targets and sessions as tgt reports them: for leak checks and assertions. */
  async snapshot(): Promise<MockSnapshot> {
    const state = structuredClone(this.api.state);
    for (const t of Object.values(state.tenants))
      for (const ai of Object.values(t.app_instances))
        for (const si of ai.storage_instances) {
          if (si.auth.target_pswd) si.auth.target_pswd = '(hidden)';
          if (si.auth.initiator_pswd) si.auth.initiator_pswd = '(hidden)';
        }
    return { state, targets: this.targetHost ? await this.targetHost.listTargets() : [], portals: this.portals, sessions: this.sessions.size };
  }

  /** Stop listening, remove every target, stop the target host; the state dir goes too unless the caller chose it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections?.();
          }),
      ),
    );
    await this.lock.catch(() => undefined);
    try {
      await this.targetHost?.stop();
    } finally {
      if (this.ownDir) await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  // ---- request handling ----

  private requireHost(): StartedTargetHost {
    if (!this.targetHost) throw new HarnessError('BAD_INPUT', 'this mock runs without target hosts (targets: none); portal and host faults need one');
    return this.targetHost;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const reqId = ++this.seq;
    // A request target that is not a URL path (e.g. "//[") is refused inside the try below, not thrown from here.
    const url = parseTarget(req.url);
    const method = req.method ?? 'GET';
    const tenantHeader = header(req, 'tenant');
    let version = 'v2.2';
    let path = url?.pathname ?? (req.url ?? '/').slice(0, 200);
    let status = 500;
    let logBody: unknown;
    const send = (code: number, body: unknown) => {
      status = code;
      const text = JSON.stringify(body);
      res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const fail = (err: DateraError) =>
      send(
        err.http,
        errorBody(err, {
          version,
          tenant: tenantHeader || '/root',
          path,
          op: method.toLowerCase(),
          reqId,
          params: url ? Object.fromEntries([...url.searchParams].map(([k, v]) => [k, String(v)])) : {},
          remote: String(req.socket.remoteAddress ?? ''),
        }),
      );
    try {
      const raw = await readBody(req, this.opts.maxBodyBytes ?? 1 << 20);
      if (!url) throw new DateraError('InvalidRequestError', `request target is not a valid path: ${path.slice(0, 120)}`);
      if (url.pathname.startsWith('/__mock/') || url.pathname === '/__mock') {
        const body = parseJsonBody(raw, method);
        send(200, await this.control(method, url.pathname.slice('/__mock'.length), body));
        return;
      }
      if (url.pathname === '/api_versions') {
        if (method !== 'GET') throw new DateraError('InvalidRequestError', `${method} is not allowed on /api_versions; use GET`, { http: 405 });
        send(200, { api_versions: ['v2', 'v2.1', 'v2.2'] });
        return;
      }
      const m = /^\/(v2(?:\.\d)?)(\/.*)?$/.exec(url.pathname);
      if (!m || !(API_VERSIONS as readonly string[]).includes(m[1]!))
        throw new DateraError('NotFoundError', `No such API version or path ${url.pathname.slice(0, 120)}; use /v2.2/...`);
      version = m[1]!;
      path = (m[2] ?? '/').replace(/\/+$/, '') || '/';
      await this.applyFaults(method, path);
      if (path === '/login' || path === '/logout') logBody = { name: '(login)' };
      if (path === '/login') {
        if (method !== 'PUT') throw new DateraError('InvalidRequestError', `${method} is not allowed on /login; use PUT`, { http: 405 });
        send(200, this.login(raw, header(req, 'content-type'), version));
        return;
      }
      const key = header(req, 'auth-token');
      const session = key ? this.sessions.get(key) : undefined;
      const idleMs = (this.opts.sessionIdleSeconds ?? 3600) * 1000;
      if (!key || !session || Date.now() - session.lastUsed > idleMs) {
        if (key) this.sessions.delete(key);
        throw new DateraError('AuthFailedError', INVALID_SESSION_MESSAGE);
      }
      session.lastUsed = Date.now();
      if (path === '/logout' && method === 'PUT') this.sessions.delete(key);
      if (path === '/api' && method === 'GET') {
        send(200, apiSchema(this.api.endpoints()));
        return;
      }
      const tenant = assertKnownTenant(this.api, tenantHeader);
      const segs = path.split('/').filter(Boolean).map(safeDecode);
      const found = this.api.match(method, segs);
      if (!found) throw new DateraError('NotFoundError', `No such endpoint ${method} ${path.slice(0, 200)}`);
      if ('allowed' in found)
        throw new DateraError('InvalidRequestError', `${method} is not allowed on ${path.slice(0, 200)}; allowed: ${found.allowed.join(', ')}`, { http: 405 });
      let body: Body = {};
      if (method !== 'GET' && path !== '/logs_upload') {
        const parsed = parseJsonBody(raw, method);
        if (method !== 'DELETE' || isObject(parsed)) body = parsed as Body;
      }
      logBody ??= method === 'GET' ? undefined : body;
      const apiReq: ApiRequest = { method, segs, path, query: url.searchParams, body, tenant, version };
      // A change looks its tenant up again once it holds the lock: a rollback while it waited replaced the objects.
      const mutate = () => found.route.handler({ ...apiReq, tenant: assertKnownTenant(this.api, tenantHeader) }, found.params);
      const result = found.route.mutates ? await this.exclusive(() => this.transaction(mutate)) : await found.route.handler(apiReq, found.params);
      send(200, this.envelope(result, apiReq));
    } catch (err) {
      if (err instanceof DateraError) fail(err);
      else if (err instanceof BodyTooLarge) fail(new DateraError('InvalidRequestError', err.message, { http: 413 }));
      else {
        console.error(`mock-datera: internal error on ${method} ${path}:`, err);
        fail(new DateraError('InternalError', `internal error: ${err instanceof Error ? err.message : String(err)}`));
      }
    } finally {
      this.record({ id: reqId, time: new Date().toISOString(), method, path, tenant: tenantHeader || '/root', status, durationMs: performance.now() - started, body: logBody });
    }
  }

  private login(raw: Buffer, contentType: string, version: string) {
    let fields: Record<string, unknown>;
    if (contentType.includes('application/x-www-form-urlencoded')) fields = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    else {
      const parsed = parseJsonBody(raw, 'PUT');
      fields = parsed as Record<string, unknown>;
    }
    const name = fields.name;
    const password = fields.password;
    if (typeof name !== 'string' || typeof password !== 'string' || !name)
      throw new DateraError('AuthFailedError', 'login needs name and password (JSON or form-encoded)');
    if (!Object.hasOwn(this.users, name) || this.users[name] !== password) throw new DateraError('AuthFailedError', 'Authentication failed: bad user name or password');
    const key = randomBytes(16).toString('hex');
    this.sessions.set(key, { user: name, lastUsed: Date.now() });
    return { key, version, request_time: Math.floor(Date.now() / 1000) };
  }

  private envelope(result: ApiResult, req: ApiRequest) {
    if ('raw' in result) return result.raw;
    const base = { tenant: req.tenant.path, path: req.path, version: req.version };
    if (!result.list) return { ...base, data: result.data };
    let items = result.data as Record<string, unknown>[];
    items = applyFilter(items, req.query.get('filter'));
    const sort = req.query.get('sort');
    if (sort) {
      const [field, dir] = sort.replace(/^-/, '').split(/[\s,]+/);
      const desc = sort.startsWith('-') || dir === 'desc';
      items = [...items].sort((a, b) => String(a[field!]).localeCompare(String(b[field!])) * (desc ? -1 : 1));
    }
    const total = items.length;
    const offset = intParam(req.query.get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = intParam(req.query.get('limit'), 'limit', 0, 1000) ?? 100;
    const page = items.slice(offset, limit === 0 ? undefined : offset + limit);
    return { ...base, data: page, metadata: { total_count: total, request_count: page.length, offset, limit } };
  }

  private async applyFaults(method: string, path: string) {
    for (const f of this.faults) {
      if ((f.method && f.method.toUpperCase() !== method) || !f.re.test(path)) continue;
      if (f.count !== undefined && --f.count <= 0) this.faults = this.faults.filter((x) => x !== f);
      if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
      if (f.status) {
        const name = f.name ?? (f.status === 503 ? 'ServiceUnavailableError' : f.status === 401 ? 'AuthFailedError' : f.status >= 500 ? 'InternalError' : 'InvalidRequestError');
        throw new DateraError(name, f.message ?? `injected fault (${f.status})`, { http: f.status });
      }
      return;
    }
  }

  /** Run a state change atomically: on any error the state is restored as it was before the request. */
  private async transaction<T>(fn: () => Promise<T> | T): Promise<T> {
    const before = structuredClone(this.api.state);
    try {
      const out = await fn();
      await this.save();
      return out;
    } catch (err) {
      this.api.state.tenants = before.tenants;
      throw err;
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async save() {
    const tmp = `${this.statePath}.tmp`;
    await writeFile(tmp, JSON.stringify(this.api.state));
    await rename(tmp, this.statePath);
  }

  private async load() {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch {
      return;
    }
    const saved = JSON.parse(text) as MockState;
    if (saved.formatVersion !== 1) throw new HarnessError('BAD_CONFIG', `${this.statePath} has an unknown format; move it away to start fresh`);
    this.api.state.systemUuid = saved.systemUuid;
    this.api.state.tenants = saved.tenants;
    for (const t of Object.values(saved.tenants))
      for (const ai of Object.values(t.app_instances))
        for (const si of ai.storage_instances) if (si.admin_state === 'online') await this.backend.online(si, this.api.effectiveAcl(t, si));
  }

  private record(entry: LoggedRequest) {
    this.log.push(entry);
    const limit = this.opts.requestLogLimit ?? 10_000;
    if (this.log.length > limit) this.log.splice(0, this.log.length - limit);
  }

  private async control(method: string, path: string, body: unknown): Promise<unknown> {
    const b = isObject(body) ? body : {};
    const str = (k: string) => {
      if (typeof b[k] !== 'string') throw new DateraError('InvalidRequestError', `${path} needs a string field '${k}'`);
      return b[k] as string;
    };
    const key = `${method} ${path}`;
    try {
      switch (key) {
        case 'GET /info':
          return { url: this.url, httpsUrl: this.httpsUrl, portals: this.portals, user: this.credentials.user, targets: this.targetHost?.kind ?? 'none' };
        case 'GET /state':
          return await this.snapshot();
        case 'GET /requests':
          return { requests: this.requests() };
        case 'DELETE /requests':
          this.clearRequests();
          return {};
        case 'POST /faults':
          return { id: this.injectFault(b as unknown as Fault) };
        case 'DELETE /faults':
          this.clearFaults();
          return {};
        case 'POST /sessions/revoke':
          this.revokeSessions();
          return {};
        case 'POST /portals/down':
          await this.portalDown(str('portal'));
          return {};
        case 'POST /portals/up':
          await this.portalUp(str('portal'));
          return {};
        case 'POST /host/down':
          await this.hostDown();
          return {};
        case 'POST /host/up':
          await this.hostUp();
          return {};
        default:
          throw new DateraError('NotFoundError', `No such control endpoint ${key}; see GET /__mock/info`);
      }
    } catch (err) {
      if (err instanceof HarnessError) throw new DateraError('InvalidRequestError', err.message);
      throw err;
    }
  }
}

class BodyTooLarge extends Error {}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new DateraError('InvalidRequestError', `bad percent-encoding in path segment '${s.slice(0, 60)}'`);
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    // Read to the end even when too large, so the error response reaches the client instead of a reset.
    req.on('end', () => (over ? reject(new BodyTooLarge(`request body is larger than ${max} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function parseJsonBody(raw: Buffer, method: string): unknown {
  const text = raw.toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    if (method === 'DELETE' || method === 'GET') return {};
    throw new DateraError('InvalidRequestError', `request body is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (!isObject(v)) {
    if (method === 'DELETE' || method === 'GET') return {};
    throw new DateraError('InvalidRequestError', 'request body must be a JSON object');
  }
  // Deeper data parses, but overflows the stack when the state is cloned or saved (and every later change fails).
  if (nestedDeeperThan(v, MAX_BODY_DEPTH)) throw new DateraError('InvalidRequestError', `request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
  return v;
}

const MAX_BODY_DEPTH = 100;

function nestedDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, depth] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(x)) stack.push([child, depth + 1]);
  }
  return false;
}

function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://mock');
  } catch {
    return undefined;
  }
}

/** Requests Node's parser refuses (headers over the size limit, malformed HTTP) still get a Datera-shaped error. */
function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return;
  const [http, reason, what] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request headers (or the path) are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request was not received in time']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify(
    errorBody(new DateraError('InvalidRequestError', `${what} (${err.code ?? 'parse error'})`, { http }), { version: 'v2.2', tenant: '/root', path: '', op: '', reqId: 0, params: {}, remote: '' }),
  );
  socket.end(`HTTP/1.1 ${http} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function intParam(v: string | null, name: string, min: number, max: number): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new DateraError('InvalidRequestError', `${name} must be an integer from ${min} to ${max}, got '${v.slice(0, 20)}'`);
  return Number(v);
}

/** Resource Query Language, the two forms clients send: `field=value` and `match(field,regex)`. */
function applyFilter(items: Record<string, unknown>[], filter: string | null): Record<string, unknown>[] {
  if (!filter) return items;
  const eq = /^(\w+)=(.*)$/.exec(filter);
  if (eq) return items.filter((i) => String(i[eq[1]!]) === eq[2]);
  const mt = /^match\((\w+),(.*)\)$/.exec(filter);
  if (mt) {
    let re: RegExp;
    try {
      re = new RegExp(mt[2]!);
    } catch {
      throw new DateraError('InvalidRequestError', `filter regex is invalid: ${mt[2]!.slice(0, 60)}`);
    }
    return items.filter((i) => re.test(String(i[mt[1]!])));
  }
  throw new DateraError('InvalidRequestError', `unsupported filter '${filter.slice(0, 60)}'; use field=value or match(field,regex)`);
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new HarnessError('BAD_CONFIG', `port ${port} on ${host} is in use; pick another with --port/--tls-port (0 picks a free one)`, { cause: err })
          : err,
      );
    server.once('error', onErr);
    server.listen(port, host, () => {
      server.off('error', onErr);
      resolve();
    });
  });
}

async function selfSignedCert(dir: string, host: string): Promise<{ key: Buffer; cert: Buffer }> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'tls.key');
  const certFile = join(dir, 'tls.crt');
  const san = /^[\d.]+$/.test(host) ? `IP:${host},DNS:localhost` : `DNS:${host},DNS:localhost,IP:127.0.0.1`;
  await run(
    ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=datera-mock', '-addext', `subjectAltName=${san}`],
    { timeoutMs: 30_000 },
  );
  return { key: await readFile(keyFile), cert: await readFile(certFile) };
}
