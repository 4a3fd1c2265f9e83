/**
 * FerryError is the base of every typed error in Ferry. Each subsystem
 * declares its own subclasses in its own `errors.ts` with a stable `code`
 * (`FERRY_ERR_*`), so callers branch on codes rather than on messages.
 */
export class FerryError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FerryError';
    this.code = code;
  }
}

/** InvalidArgumentError reports a bad option or flag, found at construction. */
export class InvalidArgumentError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_INVALID_ARG', message);
    this.name = 'InvalidArgumentError';
  }
}

/** getErrorMessage narrows an unknown thrown value to a printable message. */
export function getErrorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** getErrorCode returns the `code` of an error-like value, if it has one. */
export function getErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
