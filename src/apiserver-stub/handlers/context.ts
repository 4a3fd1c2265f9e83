import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserInfo } from './reviews.ts';
import type { Authority } from '../rbac/authority.ts';
import type { ServiceAccountTokenSigner } from '../serviceaccount/token-signer.ts';
import type { Backend } from '../storage/backend.ts';
import type { Registry } from '../registry.ts';
import type { ResourceDef } from '../resource.ts';

/** Api is what handlers reach besides the request: the registries and the store. */
export interface Api {
  readonly backend: Backend;
  registry(group: string, resource: string): Registry;
  readonly registries: readonly Registry[];
  /** Log text agents reported per pod (`ns/name`), kept in memory. */
  readonly podLogs: Map<string, string>;
  /** Who sent a request, as the configured authentication tells. */
  user(req: IncomingMessage): UserInfo;
  /** Authentication and authorization (the self reviews ask it). */
  readonly authority: Authority;
  /** Signs ServiceAccount tokens (TokenRequest). */
  readonly tokenSigner: ServiceAccountTokenSigner;
  /** Watch streams send a BOOKMARK this often when asked for them. */
  readonly bookmarkIntervalMs: number;
  /** `--min-request-timeout` in ms: a watch without timeoutSeconds ends after 1-2x this (kube's jitter). */
  readonly minRequestTimeoutMs: number;
}

/** Ctx is one resource request, routed. */
export interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  readonly api: Api;
  readonly def: ResourceDef;
  readonly registry: Registry;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}
