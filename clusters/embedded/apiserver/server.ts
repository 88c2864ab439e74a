/**
 * The embedded kube-apiserver: HTTPS on loopback, bearer-token auth, the REST paths of k8s.io/apiserver
 * (`/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`, `/apis/{group}/{version}/...`), every verb
 * (get, list, watch, create, update, patch, delete, deletecollection), server-side printing when kubectl asks for a
 * Table, status/scale/binding/eviction/finalize/log subresources, and exec/attach upgrades handed to the node side.
 * Everything stateful lives in the Store; the documents (discovery, OpenAPI, tables), patching and streaming are
 * separate modules plugged in through `ServerParts`.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import type { ClusterProfile } from '../profiles.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { matchFields, matchRequirements, parseFieldSelector, parseLabelSelector, selectorString, type LabelSelectorObject } from './selectors.js';
import { ApiError, badRequest, invalid, methodNotAllowed, notFound, type KubeStatus } from './status.js';
import type { DeleteOptions, KObject, Store, WatchEvent } from './store.js';
import type { Pki } from './pki.js';

export interface ExecRequest {
  pod: KObject;
  container: string;
  /** exec or attach */
  action: 'exec' | 'attach';
  url: URL;
}

export interface LogRequest {
  pod: KObject;
  container: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  limitBytes?: number;
}

/** The pieces the server does not own. */
export interface ServerParts {
  version(): unknown;
  /** /api, /apis, /api/v1, /apis/{g}/{v}; undefined = 404. */
  discovery(path: string, accept: string): { contentType: string; body: unknown } | undefined;
  openapi(path: string, accept: string): { contentType: string; body: Buffer | string } | undefined;
  table(kind: string, objects: KObject[], opts: { includeObject: string }): unknown;
  /** Unknown-field detection for fieldValidation. */
  checkFields?(kind: string, apiVersion: string, obj: unknown): { unknown: string[]; duplicate?: string[] };
  patch(kind: string, original: unknown, body: string, contentType: string): unknown;
  /** An exec/attach upgrade for a running container; the callee owns the socket from here. */
  execUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, exec: ExecRequest): void;
  /** Stream a container's log into `out`; resolves when done (follow: when the container ends or the client leaves). */
  logs(req: LogRequest, out: NodeJS.WritableStream, signal: AbortSignal): Promise<void>;
}

export interface ApiServerOptions {
  store: Store;
  profile: ClusterProfile;
  types: readonly ResourceType[];
  pki: Pki;
  parts: ServerParts;
  host?: string;
  port?: number;
  /** One JSON object per request (method, path, code, ms): the audit-like log kept as a run artifact. */
  onRequest?: (entry: { method: string; path: string; code: number; ms: number; user: string }) => void;
}

interface Route {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

const JSON_TYPE = 'application/json';

export class ApiServer {
  private server: HttpsServer | undefined;
  private readonly watches = new Set<() => void>();
  private readonly sockets = new Set<Duplex>();
  url = '';

  constructor(private readonly o: ApiServerOptions) {}

  async start(): Promise<this> {
    const server = createHttpsServer({ cert: this.o.pki.certPem, key: this.o.pki.keyPem }, (req, res) => void this.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    server.on('connection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    this.url = `https://${a.address}:${a.port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const stop of this.watches) stop();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    this.server = undefined;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) return false;
    const a = Buffer.from(m[1]!.trim());
    const b = Buffer.from(this.o.pki.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const url = new URL(req.url ?? '/', 'https://localhost');
    res.on('finish', () => this.o.onRequest?.({ method: req.method ?? '', path: url.pathname + url.search, code: res.statusCode, ms: Math.round(performance.now() - t0), user: 'admin' }));
    try {
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (['/healthz', '/livez', '/readyz'].includes(path)) return this.text(res, 200, 'ok');
      if (path === '/version') return this.json(res, 200, this.o.parts.version());
      if (!this.authorized(req)) return this.status(res, new ApiError(401, 'Unauthorized', 'Unauthorized'));
      if (path === '/openapi/v2' || path.startsWith('/openapi/v3') || path === '/swagger-2.0.0.pb-v1') {
        const doc = this.o.parts.openapi(path, req.headers.accept ?? '');
        if (!doc) throw notFound('', '', path);
        res.writeHead(200, { 'Content-Type': doc.contentType });
        res.end(doc.body);
        return;
      }
      if (path === '/api' || path === '/apis' || /^\/api\/v1$/.test(path) || /^\/apis\/[^/]+(\/[^/]+)?$/.test(path)) {
        const d = this.o.parts.discovery(path, req.headers.accept ?? '');
        if (!d) throw notFound('', '', path);
        res.writeHead(200, { 'Content-Type': d.contentType });
        res.end(JSON.stringify(d.body));
        return;
      }
      const route = this.route(path);
      if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      await this.dispatch(req, res, url, route);
    } catch (err) {
      if (!res.headersSent) this.status(res, err);
      else res.destroy();
    }
  }

  /** Parse a resource path into its resource type, namespace, name and subresource. */
  route(path: string): Route | undefined {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1]) {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    } else return undefined;
    const find = (plural: string) => this.o.types.find((t) => t.group === group && t.version === version && t.plural === plural);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const rt = find(rest[2]!);
      if (rt?.namespaced) {
        namespace = rest[1];
        rest = rest.slice(2);
      } else if (rest.length === 3) {
        // /api/v1/namespaces/{name}/{status|finalize}
        const nsType = find('namespaces');
        if (nsType && nsType.subresources.includes(rest[2]!)) return { rt: nsType, name: rest[1], sub: rest[2] };
        return undefined;
      } else return undefined;
    }
    const rt = find(rest[0] ?? '');
    if (!rt || rest.length > 3) return undefined;
    if (rt.namespaced && namespace === undefined && rest.length > 1) return undefined;
    const sub = rest[2];
    if (sub && !rt.subresources.includes(sub)) return undefined;
    return { rt, namespace, name: rest[1], sub };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, r: Route): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const { store } = this.o;
    const key = r.rt.storageKey;
    const dryRun = q.getAll('dryRun').includes('All');
    if (!r.name) {
      if (method === 'GET') {
        if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, r, q);
        const list = store.list(key, r.namespace, { labelSelector: parseLabelSelector(q.get('labelSelector')), fieldSelector: parseFieldSelector(q.get('fieldSelector')) });
        const items = list.items.map((o) => this.out(o, r.rt));
        if (this.wantsTable(req)) return this.json(res, 200, { ...(this.o.parts.table(r.rt.kind, items, { includeObject: q.get('includeObject') ?? 'Metadata' }) as object), metadata: { resourceVersion: list.resourceVersion } });
        return this.json(res, 200, { kind: `${r.rt.kind}List`, apiVersion: apiVersionOf(r.rt), metadata: { resourceVersion: list.resourceVersion }, items: items.map((o) => ({ ...o, apiVersion: undefined, kind: undefined })).map(stripUndefined) });
      }
      if (method === 'POST') {
        const body = await this.body(req, r.rt);
        const warnings = this.fieldValidation(q, r.rt, body);
        if (r.rt.namespaced && !r.namespace) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
        const out = store.create(key, body, { namespace: r.namespace, dryRun });
        return this.json(res, 201, this.out(out.object, r.rt), [...warnings, ...out.warnings]);
      }
      if (method === 'DELETE') {
        if (!r.rt.verbs.includes('deletecollection')) throw methodNotAllowed('the server does not allow this method on the requested resource');
        const opts = await this.deleteOptions(req, q);
        if (dryRun) opts.dryRun = ['All'];
        const list = store.list(key, r.namespace, { labelSelector: parseLabelSelector(q.get('labelSelector')), fieldSelector: parseFieldSelector(q.get('fieldSelector')) });
        const items: KObject[] = [];
        for (const o of list.items) {
          try {
            items.push(this.out(store.delete(key, o.metadata.namespace, o.metadata.name!, opts, r.rt).object, r.rt));
          } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
        return this.json(res, 200, { kind: `${r.rt.kind}List`, apiVersion: apiVersionOf(r.rt), metadata: { resourceVersion: store.resourceVersion }, items });
      }
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    const name = r.name;
    if (r.sub === 'exec' || r.sub === 'attach') throw badRequest('Upgrade request required');
    if (r.sub === 'log') return this.logs(req, res, r, q);
    if (r.sub === 'binding' || r.sub === 'eviction') {
      if (method !== 'POST') throw methodNotAllowed('the server does not allow this method on the requested resource');
      const body = (await this.readJson(req)) as KObject & { target?: { name?: string }; deleteOptions?: DeleteOptions };
      if (r.sub === 'binding') {
        const node = body.target?.name;
        if (!node) throw badRequest('Binding target name is required');
        const bound = store.mutate(key, r.namespace, name, (p) => {
          const spec = p.spec as { nodeName?: string };
          if (spec.nodeName) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${spec.nodeName}"`);
          spec.nodeName = node;
        });
        if (!bound) throw notFound(r.rt.group, r.rt.plural, name);
        return this.json(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      }
      store.delete(key, r.namespace, name, body.deleteOptions ?? {}, r.rt);
      return this.json(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    if (r.sub === 'scale') return this.scale(req, res, r, q, method);
    switch (method) {
      case 'GET': {
        const o = this.out(store.mustGet(key, r.namespace, name), r.rt);
        if (this.wantsTable(req) && !r.sub) return this.json(res, 200, this.o.parts.table(r.rt.kind, [o], { includeObject: q.get('includeObject') ?? 'Metadata' }));
        return this.json(res, 200, o);
      }
      case 'PUT': {
        const body = await this.body(req, r.rt);
        const warnings = this.fieldValidation(q, r.rt, body);
        if (body.metadata?.name && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
        body.metadata.name = name;
        const out = store.update(key, body, { sub: r.sub, namespace: r.namespace, dryRun });
        return this.json(res, 200, this.out(out.object, r.rt), [...warnings, ...out.warnings]);
      }
      case 'PATCH': {
        const raw = (await this.readBody(req)).toString('utf8');
        const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        let result: { object: KObject; warnings: string[] } | undefined;
        for (let attempt = 0; attempt < 5 && !result; attempt++) {
          const cur = this.out(store.mustGet(key, r.namespace, name), r.rt);
          const patched = this.o.parts.patch(r.rt.kind, cur, raw, ct) as KObject;
          if (!patched || typeof patched !== 'object' || !patched.metadata) throw badRequest('the patch produced an object without metadata');
          const warnings = this.fieldValidation(q, r.rt, patched);
          // A patch that names no resourceVersion applies to whatever is current: retry on a concurrent write.
          const explicitRv = /"resourceVersion"\s*:/.test(raw);
          if (!explicitRv) patched.metadata.resourceVersion = cur.metadata.resourceVersion;
          try {
            const out = store.update(key, patched, { sub: r.sub, namespace: r.namespace, dryRun });
            result = { object: out.object, warnings: [...warnings, ...out.warnings] };
          } catch (err) {
            if (!(err instanceof ApiError && err.reason === 'Conflict') || explicitRv) throw err;
          }
        }
        if (!result) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${r.rt.plural} "${name}": too many concurrent writes`);
        return this.json(res, 200, this.out(result.object, r.rt), result.warnings);
      }
      case 'DELETE': {
        const opts = await this.deleteOptions(req, q);
        if (dryRun) opts.dryRun = ['All'];
        const out = store.delete(key, r.namespace, name, opts, r.rt);
        return this.json(res, out.deleted ? 200 : 202, this.out(out.object, r.rt));
      }
      default:
        throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
  }

  private async scale(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams, method: string): Promise<void> {
    const { store } = this.o;
    const toScale = (o: KObject) => {
      const spec = o.spec as { replicas?: number; selector?: LabelSelectorObject };
      const status = (o.status ?? {}) as { replicas?: number };
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
        spec: { replicas: spec.replicas ?? 0 },
        status: { replicas: status.replicas ?? 0, selector: spec.selector ? selectorString(spec.selector) : '' },
      };
    };
    const cur = store.mustGet(r.rt.storageKey, r.namespace, r.name!);
    if (method === 'GET') return this.json(res, 200, toScale(cur));
    let desired: { metadata?: { resourceVersion?: string }; spec?: { replicas?: unknown } };
    if (method === 'PUT') desired = (await this.readJson(req)) as typeof desired;
    else if (method === 'PATCH') desired = this.o.parts.patch('Scale', toScale(cur), (await this.readBody(req)).toString('utf8'), (req.headers['content-type'] ?? '').split(';')[0]!.trim()) as typeof desired;
    else throw methodNotAllowed('the server does not allow this method on the requested resource');
    const replicas = desired.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${r.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    const rv = method === 'PUT' ? desired.metadata?.resourceVersion : undefined;
    const next = { ...cur, spec: { ...(cur.spec as object), replicas }, metadata: { ...cur.metadata, resourceVersion: rv || cur.metadata.resourceVersion } };
    const out = store.update(r.rt.storageKey, next, { namespace: r.namespace, dryRun: q.getAll('dryRun').includes('All') });
    return this.json(res, 200, toScale(out.object));
  }

  private watch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    const table = this.wantsTable(req);
    const includeObject = q.get('includeObject') ?? 'Metadata';
    let rvParam = q.get('resourceVersion') ?? undefined;
    // Streaming lists: the current state as ADDED events, then a bookmark marking their end, then changes.
    const initialEvents = q.get('sendInitialEvents') === 'true' && this.o.profile.watchList !== 'absent';
    if (q.has('sendInitialEvents') && this.o.profile.watchList !== 'absent') {
      const causes: { field: string; type: string; detail: string }[] = [];
      if (this.o.profile.watchList === 'off') causes.push({ field: 'sendInitialEvents', type: 'Forbidden', detail: 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' });
      else if (initialEvents) {
        if (q.get('allowWatchBookmarks') !== 'true') causes.push({ field: 'allowWatchBookmarks', type: 'Forbidden', detail: 'sendInitialEvents requires setting allowWatchBookmarks to true' });
        if (q.get('resourceVersionMatch') !== 'NotOlderThan') causes.push({ field: 'resourceVersionMatch', type: 'Forbidden', detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
      }
      if (causes.length) return this.status(res, invalid('meta.k8s.io', 'ListOptions', '', causes));
      // The state sent is the newest, which is "not older than" any resourceVersion the client names.
      if (initialEvents) rvParam = undefined;
    }
    const matches = (o: KObject) => {
      return matchRequirements(labels, o.metadata.labels) && matchFields(r.rt.kind, fields, o) && (r.name === undefined || o.metadata.name === r.name);
    };
    let handle: { stop(): void };
    const write = (ev: WatchEvent) => {
      if (ev.type === 'BOOKMARK') {
        res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: r.rt.kind, apiVersion: apiVersionOf(r.rt), metadata: ev.object.metadata } }) + '\n');
        return;
      }
      if (!matches(ev.object)) return;
      const obj = this.out(ev.object, r.rt);
      const body = table ? this.o.parts.table(r.rt.kind, [obj], { includeObject }) : obj;
      res.write(JSON.stringify({ type: ev.type, object: body }) + '\n');
    };
    try {
      handle = this.o.store.watch(r.rt.storageKey, r.namespace, rvParam, write, { initialEventsEnd: initialEvents });
    } catch (err) {
      return this.status(res, err);
    }
    res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const stop = () => {
      handle.stop();
      this.watches.delete(stop);
      clearTimeout(timer);
      clearInterval(bookmarks);
      if (!res.writableEnded) res.end();
    };
    this.watches.add(stop);
    const timeout = Number(q.get('timeoutSeconds') ?? 1800) || 1800;
    const timer = setTimeout(stop, timeout * 1000);
    const bookmarks =
      q.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => {
            res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: r.rt.kind, apiVersion: apiVersionOf(r.rt), metadata: { resourceVersion: this.o.store.resourceVersion } } }) + '\n');
          }, 60_000)
        : undefined;
    req.on('close', stop);
  }

  private async logs(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    const pod = this.o.store.mustGet('core/pods', r.namespace, r.name!);
    const container = this.containerOf(pod, q.get('container'));
    const num = (k: string) => (q.get(k) === null ? undefined : Number(q.get(k)));
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    // Headers go out with the first line, so a node-side failure before any output is still an error Status.
    res.setHeader('Content-Type', 'text/plain');
    await this.o.parts.logs(
      { pod, container, follow: q.get('follow') === 'true', previous: q.get('previous') === 'true', timestamps: q.get('timestamps') === 'true', tailLines: num('tailLines'), sinceSeconds: num('sinceSeconds'), limitBytes: num('limitBytes') },
      res,
      abort.signal,
    );
    if (!res.writableEnded) res.end();
  }

  private containerOf(pod: KObject, wanted: string | null): string {
    const spec = pod.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] };
    const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
    if (!wanted) {
      if ((spec.containers ?? []).length === 1) return spec.containers![0]!.name;
      throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${(spec.containers ?? []).map((c) => c.name).join(' ')}]`);
    }
    if (!names.includes(wanted)) throw badRequest(`container ${wanted} is not valid for pod ${pod.metadata.name}`);
    return wanted;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const fail = (err: unknown) => {
      const st: KubeStatus = err instanceof ApiError ? err.toStatus() : new ApiError(500, 'InternalError', String(err)).toStatus();
      const body = JSON.stringify(st);
      socket.end(`HTTP/1.1 ${st.code} ${st.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const r = this.route(url.pathname.replace(/\/+$/, ''));
      if (!r || (r.sub !== 'exec' && r.sub !== 'attach') || r.rt.kind !== 'Pod') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const pod = this.o.store.mustGet('core/pods', r.namespace, r.name!);
      const container = this.containerOf(pod, url.searchParams.get('container'));
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
      const running = ((pod.status as { containerStatuses?: { name: string; state?: { running?: unknown } }[] } | undefined)?.containerStatuses ?? []).find((c) => c.name === container)?.state?.running;
      if (!running) throw badRequest(`container ${container} is not running`);
      this.o.parts.execUpgrade(req, socket, head, { pod, container, action: r.sub, url });
    } catch (err) {
      fail(err);
    }
  }

  private wantsTable(req: IncomingMessage): boolean {
    return /as=Table/.test(req.headers.accept ?? '');
  }

  /** The object as the requested group version shows it. */
  private out(o: KObject, rt: ResourceType): KObject {
    return { ...o, apiVersion: apiVersionOf(rt), kind: rt.kind };
  }

  private fieldValidation(q: URLSearchParams, rt: ResourceType, body: unknown): string[] {
    // Before 1.25 the parameter does not exist: the server ignores it (and the OpenAPI does not offer it).
    if (!this.o.profile.fieldValidation) return [];
    const mode = q.get('fieldValidation') ?? 'Warn';
    if (!['Strict', 'Warn', 'Ignore'].includes(mode)) throw badRequest(`fieldValidation parameter unsupported: ${mode}. Allowed values are Strict, Warn and Ignore`);
    if (mode === 'Ignore' || !this.o.parts.checkFields) return [];
    const found = this.o.parts.checkFields(rt.kind, apiVersionOf(rt), body);
    const problems = [...found.unknown.map((f) => `unknown field "${f}"`), ...(found.duplicate ?? []).map((f) => `duplicate field "${f}"`)];
    if (!problems.length) return [];
    if (mode === 'Strict') throw badRequest(`strict decoding error: ${problems.join(', ')}`);
    return problems;
  }

  private async body(req: IncomingMessage, rt: ResourceType): Promise<KObject> {
    const o = (await this.readJson(req)) as KObject;
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw badRequest('the body of the request was not a JSON object');
    o.metadata ??= {};
    if (o.kind && o.kind !== rt.kind) throw badRequest(`the API version in the data (${o.apiVersion ?? ''}) does not match the expected API version (${apiVersionOf(rt)})`);
    return o;
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const raw = (await this.readBody(req)).toString('utf8').trim();
    const opts: DeleteOptions = raw ? (JSON.parse(raw) as DeleteOptions) : {};
    const pp = q.get('propagationPolicy');
    if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
    const gp = q.get('gracePeriodSeconds');
    if (gp !== null) opts.gracePeriodSeconds = Number(gp);
    if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy))
      throw new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`);
    return opts;
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        if (size > 3 * 1024 * 1024) return; // refused already: drain the rest so the client reads the 413
        size += c.length;
        if (size > 3 * 1024 * 1024) {
          chunks.length = 0;
          reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const raw = (await this.readBody(req)).toString('utf8');
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(err as Error).message})`);
    }
  }

  private json(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
    const headers: Record<string, string | string[]> = { 'Content-Type': JSON_TYPE };
    if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(JSON.stringify(body));
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  }

  private status(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : err instanceof SyntaxError ? badRequest(err.message) : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
    this.json(res, e.code, e.toStatus());
  }
}

function stripUndefined(o: Record<string, unknown>): KObject {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as KObject;
}

