/**
 * API errors as real servers send them: a metav1.Status with the HTTP code, the reason kubectl and client-go switch
 * on (NotFound, AlreadyExists, Conflict, Invalid, Gone, ...), details naming the object, and the message texts of
 * k8s.io/apimachinery/pkg/api/errors.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): KubeStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

/** `pods`, `statefulsets.apps`: how apimachinery names a group resource in messages. */
export const qualified = (group: string, plural: string) => (group ? `${plural}.${group}` : plural);

export const notFound = (group: string, plural: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, { name, ...(group ? { group } : {}), kind: plural });

export const alreadyExists = (group: string, plural: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, { name, ...(group ? { group } : {}), kind: plural });

export const conflict = (group: string, plural: string, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${why}`, { name, ...(group ? { group } : {}), kind: plural });

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const methodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);

export const gone = (message: string) => new ApiError(410, 'Expired', message);

export const forbidden = (group: string, plural: string, name: string, why: string) =>
  new ApiError(403, 'Forbidden', `${qualified(group, plural)} "${name}" is forbidden: ${why}`, { name, ...(group ? { group } : {}), kind: plural });

/** 422 with one cause per field error, message as apimachinery's NewInvalid formats it. */
export function invalid(group: string, kind: string, name: string, causes: { field: string; type: string; detail: string; value?: unknown }[]): ApiError {
  const text = (c: (typeof causes)[number]) => {
    const v = c.value === undefined ? '' : `: ${JSON.stringify(c.value)}`;
    return `${c.field}: ${c.type}${v}${c.detail ? `: ${c.detail}` : ''}`;
  };
  const list = causes.length === 1 ? text(causes[0]!) : `[${causes.map(text).join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${list}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: `Field${c.type.replace(/ /g, '')}`, message: `${c.type}${c.detail ? `: ${c.detail}` : ''}`, field: c.field })),
  });
}
