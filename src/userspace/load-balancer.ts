/**
 * RoundRobin picks a backend for each new connection of one service port, as
 * the old kube-proxy's userspace `LoadBalancerRR` did: round-robin over a
 * shuffled endpoint list (shuffled again whenever the set changes, so many
 * proxies do not all start on the same pod), with optional ClientIP affinity
 * that pins a client address to the endpoint it last used until the affinity
 * has been idle for its timeout.
 *
 * Endpoints are `ip:port` strings. Removing an endpoint only stops new picks:
 * connections already open to it are the caller's and keep running (drain).
 */
export class RoundRobin {
  private endpoints: string[] = [];
  private index = 0;
  private affinityTimeoutMs = 0;
  private readonly affinity = new Map<string, { endpoint: string; lastUsedMs: number }>();
  private readonly now: () => number;

  /** `now` is injectable for tests (milliseconds, monotonic enough). */
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** size is the number of endpoints new connections may go to. */
  get size(): number {
    return this.endpoints.length;
  }

  /** pinsClients: ClientIP affinity is on, so new connections need the client's address. */
  get pinsClients(): boolean {
    return this.affinityTimeoutMs > 0;
  }

  /**
   * setAffinity sets the ClientIP affinity timeout; 0 turns affinity off and
   * forgets every client.
   */
  setAffinity(timeoutMs: number): void {
    this.affinityTimeoutMs = timeoutMs;
    if (timeoutMs === 0) this.affinity.clear();
  }

  /**
   * setEndpoints replaces the endpoint set. An unchanged set keeps the current
   * order and position; a changed one is reshuffled, and clients pinned to an
   * endpoint that left are forgotten.
   */
  setEndpoints(endpoints: readonly string[]): void {
    const next = [...new Set(endpoints)];
    if (sameSet(this.endpoints, next)) return;
    this.endpoints = shuffle(next);
    this.index = 0;
    const live = new Set(next);
    for (const [client, entry] of this.affinity) if (!live.has(entry.endpoint)) this.affinity.delete(client);
  }

  /**
   * next returns the endpoint for a new connection from clientIP, or undefined
   * when there is none. `resetAffinity` is set on retries after a failed dial,
   * so a client pinned to a dead endpoint moves on and is pinned to the next.
   */
  next(clientIP: string, resetAffinity = false): string | undefined {
    if (this.endpoints.length === 0) return undefined;
    const now = this.now();
    if (this.affinityTimeoutMs > 0 && !resetAffinity) {
      const pinned = this.affinity.get(clientIP);
      if (pinned && now - pinned.lastUsedMs < this.affinityTimeoutMs) {
        pinned.lastUsedMs = now;
        return pinned.endpoint;
      }
    }
    const endpoint = this.endpoints[this.index % this.endpoints.length]!;
    this.index = (this.index + 1) % this.endpoints.length;
    if (this.affinityTimeoutMs > 0) this.affinity.set(clientIP, { endpoint, lastUsedMs: now });
    return endpoint;
  }

  /** expireAffinity forgets clients idle longer than the timeout (called on each sync to bound the map). */
  expireAffinity(): void {
    const now = this.now();
    for (const [client, entry] of this.affinity) if (now - entry.lastUsedMs >= this.affinityTimeoutMs) this.affinity.delete(client);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/** shuffle is Fisher–Yates on a copy. */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
