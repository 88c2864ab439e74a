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

/** NewForbidden: no resource gives `forbidden: why`, no name `<resource> is forbidden: why`. */
export const forbidden = (group: string, plural: string, name: string, why: string) =>
  new ApiError(403, 'Forbidden', !plural ? `forbidden: ${why}` : name ? `${qualified(group, plural)} "${name}" is forbidden: ${why}` : `${qualified(group, plural)} is forbidden: ${why}`, {
    name,
    ...(group ? { group } : {}),
    kind: plural,
  });

/** field.ErrorType values (the causes' reason) by their String() form (the text in messages). */
const CAUSE_TYPES: Record<string, string> = {
  'Not found': 'FieldValueNotFound',
  'Required value': 'FieldValueRequired',
  'Duplicate value': 'FieldValueDuplicate',
  'Invalid value': 'FieldValueInvalid',
  'Unsupported value': 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  'Too long': 'FieldValueTooLong',
  'Too many': 'FieldValueTooMany',
  'Internal error': 'InternalError',
};

/** 422 with one cause per field error, message as apimachinery's NewInvalid formats it. */
export function invalid(group: string, kind: string, name: string, causes: { field: string; type: string; detail: string; value?: unknown }[]): ApiError {
  // field.Error.ErrorBody: the value is shown except for Required, Forbidden, Too long and Internal errors.
  const body = (c: (typeof causes)[number]) => {
    const hide = c.value === undefined || ['Required value', 'Forbidden', 'Too long', 'Internal error'].includes(c.type);
    return `${c.type}${hide ? '' : `: ${JSON.stringify(c.value)}`}${c.detail ? `: ${c.detail}` : ''}`;
  };
  const text = (c: (typeof causes)[number]) => `${c.field}: ${body(c)}`;
  const list = causes.length === 1 ? text(causes[0]!) : `[${causes.map(text).join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${list}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: CAUSE_TYPES[c.type] ?? `Field${c.type.replace(/ /g, '')}`, message: body(c), field: c.field })),
  });
}
