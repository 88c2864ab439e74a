/**
 * A Datera REST client that behaves like the vendor SDKs: logs in lazily (form-encoded like the Go SDK, or JSON
 * like the Python SDK), sends Auth-Token and tenant, logs in again once and replays when the key has expired,
 * retries 503 and refused connections with backoff, and never verifies TLS (neither SDK does). Self-contained:
 * the reference driver ships it onto nodes.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface DateraClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7717 (a bare host:port means http). */
  server: string;
  user: string;
  password: string;
  tenant?: string;
  apiVersion?: string;
  loginEncoding?: 'form' | 'json';
  /** Total time for retries of 503 and refused connections. Default 30 s. */
  retryBudgetMs?: number;
  timeoutMs?: number;
  driverHeader?: string;
}

export interface Envelope<T = unknown> {
  tenant: string;
  path: string;
  version: string;
  data: T;
  metadata?: { total_count: number; request_count: number; offset: number; limit: number };
}

export class DateraApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { name?: string; code?: number; message?: string } & Record<string, unknown>,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${body.name ?? ''} ${body.message ?? ''}`.trim());
    this.name = 'DateraApiError';
  }
  get dateraName(): string | undefined {
    return this.body.name;
  }
}

export class DateraConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'DateraConnectionError';
  }
}

const INVALID_SESSION = 'The key provided with the request does not correspond to a valid session.';

export class DateraClient {
  private key: string | undefined;
  readonly base: string;
  /** Counts, for tests and benchmarks. */
  logins = 0;

  constructor(private readonly o: DateraClientOptions) {
    this.base = /^https?:\/\//.test(o.server) ? o.server.replace(/\/+$/, '') : `http://${o.server}`;
  }

  private get prefix() {
    return `/v${this.o.apiVersion ?? '2.2'}`;
  }

  async login(): Promise<string> {
    const enc = this.o.loginEncoding ?? 'form';
    const body =
      enc === 'form'
        ? new URLSearchParams({ name: this.o.user, password: this.o.password }).toString()
        : JSON.stringify({ name: this.o.user, password: this.o.password });
    const type = enc === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    const res = await this.raw('PUT', `${this.prefix}/login`, body, { 'Content-Type': type });
    const key = (res.body as { key?: unknown }).key;
    if (res.status !== 200 || typeof key !== 'string' || !key) throw new DateraApiError(res.status, res.body as Record<string, unknown>, 'PUT', '/login');
    this.logins++;
    this.key = key;
    return key;
  }

  get<T = unknown>(path: string, query?: Record<string, string | number>): Promise<Envelope<T>> {
    return this.call<T>('GET', path, undefined, query);
  }
  post<T = unknown>(path: string, body: unknown): Promise<Envelope<T>> {
    return this.call<T>('POST', path, body);
  }
  put<T = unknown>(path: string, body: unknown): Promise<Envelope<T>> {
    return this.call<T>('PUT', path, body);
  }
  delete<T = unknown>(path: string, body?: unknown, query?: Record<string, string | number>): Promise<Envelope<T>> {
    return this.call<T>('DELETE', path, body, query);
  }

  /** GET that answers undefined for a 404 NotFoundError instead of throwing. */
  async find<T = unknown>(path: string): Promise<T | undefined> {
    try {
      return (await this.get<T>(path)).data;
    } catch (err) {
      if (err instanceof DateraApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async call<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number>): Promise<Envelope<T>> {
    if (!this.key) await this.login();
    const qs = query ? '?' + new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString() : '';
    const full = `${this.prefix}${path}${qs}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const res = await this.withRetries(() =>
        this.raw(method, full, text, {
          'Auth-Token': this.key!,
          tenant: this.o.tenant ?? '/root',
          ...(text !== undefined ? { 'Content-Type': 'application/json' } : {}),
        }),
      );
      if (res.status === 401 && attempt === 0 && (res.body as { message?: string }).message === INVALID_SESSION) {
        await this.login();
        continue;
      }
      if (res.status < 200 || res.status > 299) throw new DateraApiError(res.status, res.body as Record<string, unknown>, method, path);
      return res.body as Envelope<T>;
    }
  }

  private async withRetries(fn: () => Promise<{ status: number; body: unknown }>): Promise<{ status: number; body: unknown }> {
    const deadline = Date.now() + (this.o.retryBudgetMs ?? 30_000);
    for (let n = 1; ; n++) {
      try {
        const res = await fn();
        if (res.status !== 503 || Date.now() >= deadline) return res;
      } catch (err) {
        if (!(err instanceof DateraConnectionError) || err.code !== 'ECONNREFUSED' || Date.now() >= deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, Math.min(n * n * 100, 2000)));
    }
  }

  private raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.base);
    const req = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const r = req(
        url,
        {
          method,
          headers: { ...headers, 'Datera-Driver': this.o.driverHeader ?? 'dkc-reference-driver', ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}) },
          rejectUnauthorized: false,
          timeout: this.o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              parsed = { message: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new DateraConnectionError(`no answer from ${this.base} within ${this.o.timeoutMs ?? 30_000} ms`, 'ETIMEDOUT')));
      r.on('error', (e: NodeJS.ErrnoException) =>
        reject(e instanceof DateraConnectionError ? e : new DateraConnectionError(`cannot reach the Datera API at ${this.base}: ${e.message}`, e.code)),
      );
      r.end(body);
    });
  }
}
