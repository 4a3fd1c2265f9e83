import type { Status, StatusCause } from '../kube/types.ts';
import { FerryError, getErrorCode } from '../util/errors.ts';

/**
 * ApiError is a failure that reaches the client as a metav1.Status with an
 * HTTP code and reason, as kube-apiserver's `pkg/api/errors` builds them.
 * Every handler throws these; the server turns anything else into one too.
 */
export class ApiError extends FerryError {
  readonly status: Status;

  constructor(code: number, reason: string, message: string, details?: Status['details']) {
    super(`FERRY_ERR_API_${reason.toUpperCase()}`, message);
    this.name = 'ApiError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
  }

  get httpCode(): number {
    return this.status.code ?? 500;
  }
}

/** GroupResource names what an error is about: `services`, `deployments.apps`. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

export const apiErrors = {
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  notFound: (gr: GroupResource, name: string) =>
    new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource }),
  pathNotFound: (path: string) => new ApiError(404, 'NotFound', `the server could not find the requested resource (path ${path})`),
  methodNotAllowed: (method: string, what: string) =>
    new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${what})`),
  alreadyExists: (gr: GroupResource, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource }),
  conflict: (gr: GroupResource, name: string, why: string) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, { name, group: gr.group, kind: gr.resource }),
  expired: (message: string) => new ApiError(410, 'Expired', message),
  tooLarge: (message: string) => new ApiError(413, 'RequestEntityTooLarge', message),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType})`),
  invalid: (kind: string, group: string, name: string, causes: StatusCause[]) =>
    new ApiError(
      422,
      'Invalid',
      `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
      { name, group, kind, causes },
    ),
  unprocessable: (message: string) => new ApiError(422, 'Invalid', message),
  forbidden: (gr: GroupResource, name: string, why: string) =>
    new ApiError(403, 'Forbidden', `${qualified(gr)} "${name}" is forbidden: ${why}`, { name, group: gr.group, kind: gr.resource }),
  timeout: (message: string) => new ApiError(504, 'Timeout', message),
  unavailable: (message: string) => new ApiError(503, 'ServiceUnavailable', message),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
};

/** Cause builders for 422 Invalid, with kube's `field.ErrorType` reasons. */
export const cause = {
  required: (field: string, detail = 'Required value'): StatusCause => ({ reason: 'FieldValueRequired', field, message: detail }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  }),
  unsupported: (field: string, value: unknown, allowed: readonly string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({ reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${JSON.stringify(value)}` }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` }),
  tooMany: (field: string, max: number): StatusCause => ({ reason: 'FieldValueTooMany', field, message: `Too many: must have at most ${max} items` }),
};

/** storeErrorCodes are the FERRY_ERR_STORE_* codes the REST layer maps by name (see storage/errors.ts). */
export function isStoreError(error: unknown, name: 'KEY_EXISTS' | 'KEY_NOT_FOUND' | 'CONFLICT' | 'COMPACTED' | 'FUTURE_REVISION' | 'CLOSED' | 'UNAVAILABLE' | 'UNENCODABLE'): boolean {
  return getErrorCode(error) === `FERRY_ERR_STORE_${name}`;
}

/** storeFailure maps a store error that escaped a handler to its Status (503 when the store is down, 410, 504). */
export function storeFailure(error: unknown): ApiError | undefined {
  if (isStoreError(error, 'CLOSED') || isStoreError(error, 'UNAVAILABLE')) return apiErrors.unavailable(`the store is unavailable: ${(error as Error).message}`);
  if (isStoreError(error, 'UNENCODABLE')) return apiErrors.badRequest((error as Error).message);
  if (isStoreError(error, 'COMPACTED')) return apiErrors.expired((error as Error).message);
  if (isStoreError(error, 'FUTURE_REVISION')) return apiErrors.timeout((error as Error).message);
  return undefined;
}
