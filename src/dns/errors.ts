import { FerryError } from '../util/errors.ts';

/**
 * WireFormatError reports a DNS message that cannot be parsed. `id` is the
 * message ID when the header was readable, so the server can answer FORMERR;
 * without it the packet is dropped.
 */
export class WireFormatError extends FerryError {
  readonly id: number | undefined;

  constructor(message: string, id?: number) {
    super('FERRY_ERR_DNS_FORMAT', message);
    this.name = 'WireFormatError';
    this.id = id;
  }
}

/** UpstreamError reports a forwarded query that got no usable answer (timeout, refused socket, bad reply). */
export class UpstreamError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_DNS_UPSTREAM', message, options);
    this.name = 'UpstreamError';
  }
}
