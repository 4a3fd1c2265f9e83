import { FerryError } from '../util/errors.ts';

/**
 * Status is the part of a metav1.Status the client reads from an error
 * response or a watch ERROR event.
 */
export interface Status {
  readonly kind?: string;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: unknown;
}

/**
 * ApiError is a non-2xx answer of the apiserver (or an ERROR watch event),
 * carrying the Status reason and code so callers branch on `reason`
 * (`NotFound`, `Conflict`, `Expired`, `Unauthorized`, ...) rather than on text.
 */
export class ApiError extends FerryError {
  readonly server: string;
  readonly statusCode: number;
  readonly reason: string;
  readonly status: Status | undefined;

  constructor(server: string, what: string, statusCode: number, status: Status | undefined, bodyText?: string) {
    const reason = status?.reason ?? reasonForCode(statusCode);
    const detail = status?.message ?? (bodyText?.trim().slice(0, 200) || reason);
    super('FERRY_ERR_API', `${what} on ${server}: ${statusCode} ${reason}: ${detail}`);
    this.name = 'ApiError';
    this.server = server;
    this.statusCode = statusCode;
    this.reason = reason;
    this.status = status;
  }
}

/** ConnectionError is a request that got no HTTP answer: refused, reset, TLS failure, timeout. */
export class ConnectionError extends FerryError {
  readonly server: string;

  constructor(server: string, what: string, cause: unknown) {
    super('FERRY_ERR_API_CONNECTION', `${what} on ${server}: ${describeCause(cause)}`, { cause });
    this.name = 'ConnectionError';
    this.server = server;
  }
}

/** KubeconfigError is a kubeconfig or in-cluster configuration that cannot be used. */
export class KubeconfigError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_KUBECONFIG', message, options);
    this.name = 'KubeconfigError';
  }
}

/** isExpired tells a 410 (Expired/Gone) apart: the reflector must relist. */
export function isExpired(error: unknown): boolean {
  return error instanceof ApiError && (error.statusCode === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 409;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  409: 'Conflict', 410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

function reasonForCode(code: number): string {
  return REASONS[code] ?? 'Unknown';
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  const inner = cause.cause instanceof Error ? ` (${cause.cause.message})` : '';
  return `${typeof code === 'string' ? `${code}: ` : ''}${cause.message}${inner}`;
}

/**
 * statusMessage is what client-go's error prints: the apiserver's Status
 * message for an ApiError (controllers put it in their events as kube's do,
 * e.g. FailedCreate), else the error's own message.
 */
export function statusMessage(error: unknown): string {
  if (error instanceof ApiError && error.status?.message) return error.status.message;
  return error instanceof Error ? error.message : String(error);
}
