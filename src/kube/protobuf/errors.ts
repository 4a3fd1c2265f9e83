import { FerryError } from '../../util/errors.ts';

/** ProtobufDecodeError: the bytes break the wire rules (truncated, bad tag, wrong magic). */
export class ProtobufDecodeError extends FerryError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('FERRY_ERR_PROTOBUF_MALFORMED', `${path || '<root>'}: ${message}`);
    this.path = path;
  }
}

/**
 * ProtobufUnsupportedError: well-formed bytes we have no table for (unknown
 * kind or field number). Refused whole so nothing is half-stored.
 */
export class ProtobufUnsupportedError extends FerryError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('FERRY_ERR_PROTOBUF_UNSUPPORTED', `${path || '<root>'}: ${message}`);
    this.path = path;
  }
}
