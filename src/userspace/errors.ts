import { FerryError } from '../util/errors.ts';

/** PortRangeExhaustedError: every port of `--proxy-port-range` is held by a listener. */
export class PortRangeExhaustedError extends FerryError {
  constructor(range: readonly [number, number]) {
    super('FERRY_ERR_USERSPACE_PORTS_EXHAUSTED', `no free proxy port in ${range[0]}-${range[1]}`);
    this.name = 'PortRangeExhaustedError';
  }
}

/** ListenError: a service port's listener could not be opened. */
export class ListenError extends FerryError {
  readonly serviceKey: string;

  constructor(serviceKey: string, cause: unknown) {
    super('FERRY_ERR_USERSPACE_LISTEN', `cannot open proxy listener for ${serviceKey}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ListenError';
    this.serviceKey = serviceKey;
  }
}

/** PortalRulesError: iptables-restore rejected the portal rules of a sync. */
export class PortalRulesError extends FerryError {
  constructor(message: string, cause?: unknown) {
    super('FERRY_ERR_USERSPACE_PORTALS', `portal rules: ${message}`, { cause });
    this.name = 'PortalRulesError';
  }
}
