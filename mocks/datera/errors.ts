/**
 * Datera-shaped errors. The field names and types follow the Go SDK's ApiErrorResponse: params and connInfo hold
 * strings only, errors is a list of strings, code/http/api_req_id are integers (otherwise Go's decode fails).
 */
export type DateraErrorName =
  | 'InvalidRequestError'
  | 'AuthFailedError'
  | 'PermissionDeniedError'
  | 'NotFoundError'
  | 'ConflictError'
  | 'ValidationFailedError'
  | 'InternalError'
  | 'ServiceUnavailableError';

const STATUS: Record<DateraErrorName, number> = {
  InvalidRequestError: 400,
  AuthFailedError: 401,
  PermissionDeniedError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  ValidationFailedError: 422,
  InternalError: 500,
  ServiceUnavailableError: 503,
};

/** The exact text Python's SDK compares against to decide on a quiet re-login. */
export const INVALID_SESSION_MESSAGE = 'The key provided with the request does not correspond to a valid session.';

export class DateraError extends Error {
  readonly dateraName: DateraErrorName;
  readonly http: number;
  readonly dateraCode: number;
  readonly errors: string[];
  constructor(name: DateraErrorName, message: string, opts: { http?: number; code?: number; errors?: string[] } = {}) {
    super(message);
    this.dateraName = name;
    this.http = opts.http ?? STATUS[name];
    this.dateraCode = opts.code ?? 1;
    this.errors = opts.errors ?? [];
  }
}

export const notFound = (path: string) => new DateraError('NotFoundError', `No data at ${path}`);
export const invalid = (message: string, code?: number) => new DateraError('InvalidRequestError', message, { code });
export const validation = (message: string) => new DateraError('ValidationFailedError', message, { errors: [message] });
export const conflict = (message: string) => new DateraError('ConflictError', message);

export interface ErrorContext {
  version: string;
  tenant: string;
  path: string;
  op: string;
  reqId: number;
  params: Record<string, string>;
  remote: string;
}

export function errorBody(err: DateraError, ctx: ErrorContext) {
  return {
    name: err.dateraName,
    code: err.dateraCode,
    http: err.http,
    message: err.message,
    ts: new Date().toISOString(),
    version: ctx.version,
    op: ctx.op,
    tenant: ctx.tenant,
    path: ctx.path,
    params: ctx.params,
    connInfo: { remoteAddress: ctx.remote },
    api_req_id: ctx.reqId,
    errors: err.errors,
  };
}
