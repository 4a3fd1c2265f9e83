import { FerryError } from '../util/errors.ts';

export { ApiError, ConnectionError, KubeconfigError, isConflict, isExpired, isNotFound } from '../client/errors.ts';

/** UnknownProxyModeError is a `--mode` with no registered backend. */
export class UnknownProxyModeError extends FerryError {
  readonly mode: string;

  constructor(mode: string, available: readonly string[]) {
    super('FERRY_ERR_PROXY_MODE', `proxy mode ${JSON.stringify(mode)} is not available in this build (available: ${available.join(', ')})`);
    this.name = 'UnknownProxyModeError';
    this.mode = mode;
  }
}
