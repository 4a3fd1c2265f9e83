import { decodeMessage } from './decode.ts';
import { ProtobufDecodeError, ProtobufUnsupportedError } from './errors.ts';
import { WireReader, wireType } from './wire.ts';
import './tables-meta.ts';
import './tables-core.ts';
import './tables-apps.ts';
import './tables-auth.ts';
import './tables-more.ts';

/** The media type kube clients send protobuf bodies as. */
export const protobufMediaType = 'application/vnd.kubernetes.protobuf';

/** `k8s\0`: the prefix of every Kubernetes protobuf body (runtime/serializer/protobuf). */
const magic = [0x6b, 0x38, 0x73, 0x00];

/** Kinds we hold tables for, by apiVersion/kind. */
const messageByKind: ReadonlyMap<string, string> = new Map([
  ['v1/Namespace', 'Namespace'],
  ['v1/ConfigMap', 'ConfigMap'],
  ['v1/Service', 'Service'],
  ['v1/Pod', 'Pod'],
  ['apps/v1/Deployment', 'Deployment'],
  ['apps/v1/ReplicaSet', 'ReplicaSet'],
  ['v1/Secret', 'Secret'],
  ['v1/ServiceAccount', 'ServiceAccount'],
  ['batch/v1/Job', 'Job'],
  ['batch/v1/CronJob', 'CronJob'],
  ['rbac.authorization.k8s.io/v1/Role', 'Role'],
  ['rbac.authorization.k8s.io/v1/ClusterRole', 'ClusterRole'],
  ['rbac.authorization.k8s.io/v1/RoleBinding', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', 'ClusterRoleBinding'],
  ['networking.k8s.io/v1/Ingress', 'Ingress'],
  ['authentication.k8s.io/v1/SelfSubjectReview', 'SelfSubjectReview'],
  ['authentication.k8s.io/v1/TokenRequest', 'TokenRequest'],
  ['authorization.k8s.io/v1/SelfSubjectAccessReview', 'SelfSubjectAccessReview'],
  ['authorization.k8s.io/v1/SelfSubjectRulesReview', 'SelfSubjectRulesReview'],
]);

interface Unknown {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
}

/**
 * decodeKubeProtobuf decodes a Kubernetes protobuf body (magic + runtime.Unknown
 * wrapping the typed object) into the JSON object a JSON client would send.
 */
export function decodeKubeProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < magic.length || magic.some((b, i) => body[i] !== b)) {
    throw new ProtobufDecodeError('', 'the body does not start with the Kubernetes protobuf prefix k8s\\0');
  }
  const unknown = readUnknown(body.subarray(magic.length));
  if (unknown.contentEncoding !== '') throw new ProtobufUnsupportedError('', `contentEncoding ${unknown.contentEncoding} is not supported`);
  const key = `${unknown.apiVersion}/${unknown.kind}`;
  // DeleteOptions is registered in every group-version, so clients tag it with the group's (`apps/v1`) or meta's.
  const message = messageByKind.get(key) ?? (unknown.kind === 'DeleteOptions' ? 'DeleteOptions' : undefined);
  if (message === undefined) throw new ProtobufUnsupportedError('', `kind ${unknown.kind} of ${unknown.apiVersion || 'no apiVersion'} is not supported in protobuf`);
  return { apiVersion: unknown.apiVersion, kind: unknown.kind, ...decodeMessage(message, unknown.raw, unknown.kind) };
}

/** runtime.Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}. */
function readUnknown(bytes: Uint8Array): Unknown {
  const out: Unknown = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '' };
  const reader = new WireReader(bytes, 'Unknown');
  const dec = new TextDecoder();
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    if (wire !== wireType.bytes) throw new ProtobufDecodeError('Unknown', `field ${field} has wire type ${wire}, want 2`);
    const value = reader.bytes();
    if (field === 1) Object.assign(out, readTypeMeta(value));
    else if (field === 2) out.raw = value;
    else if (field === 3) out.contentEncoding = dec.decode(value);
    else if (field !== 4) throw new ProtobufUnsupportedError('Unknown', `Unknown field number ${field} is not supported`);
  }
  return out;
}

function readTypeMeta(bytes: Uint8Array): { apiVersion: string; kind: string } {
  const out = { apiVersion: '', kind: '' };
  const reader = new WireReader(bytes, 'Unknown.typeMeta');
  const dec = new TextDecoder();
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    if (wire !== wireType.bytes) throw new ProtobufDecodeError('Unknown.typeMeta', `field ${field} has wire type ${wire}, want 2`);
    const value = dec.decode(reader.bytes());
    if (field === 1) out.apiVersion = value;
    else if (field === 2) out.kind = value;
    else throw new ProtobufUnsupportedError('Unknown.typeMeta', `TypeMeta field number ${field} is not supported`);
  }
  return out;
}
