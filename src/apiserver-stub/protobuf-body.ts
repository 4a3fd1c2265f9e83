import { decodeKubeProtobuf, protobufMediaType } from '../kube/protobuf/envelope.ts';
import { ProtobufUnsupportedError } from '../kube/protobuf/errors.ts';
import { getErrorMessage } from '../util/errors.ts';
import { ApiError, apiErrors } from './errors.ts';

export function isProtobuf(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === protobufMediaType;
}

/**
 * decodeProtobufBody decodes a protobuf request body. Malformed bytes are a
 * 400; a kind or field we have no table for is a 415, refused whole (never
 * stored without the field) and pointing the client at JSON.
 */
export function decodeProtobufBody(body: Buffer): unknown {
  if (body.length === 0) throw apiErrors.badRequest('the request body is empty');
  try {
    return decodeKubeProtobuf(body);
  } catch (error) {
    if (error instanceof ProtobufUnsupportedError) {
      throw new ApiError(415, 'UnsupportedMediaType', `the protobuf body is not supported by this server: ${error.message}; send it as application/json instead`);
    }
    throw apiErrors.badRequest(`the request body is not valid Kubernetes protobuf: ${getErrorMessage(error)}`);
  }
}
