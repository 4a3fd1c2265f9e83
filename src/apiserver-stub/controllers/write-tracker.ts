/**
 * WriteTracker remembers the objects a controller wrote for an owner until
 * its informer cache shows them, so a reconcile never acts on a cache that
 * predates its own last writes (kube's endpointSliceTracker and
 * ControllerExpectations serve the same end): acting on it would create
 * duplicates or undo a scale-down.
 */

/** Cached is what the tracker needs of a cached object. */
export interface Cached {
  resourceVersion: string | undefined;
  deleting: boolean;
}

type Expect = { rv: string | undefined; at: number };

/** After this long an expectation is dropped (the object may have been replaced by someone else), as kube's expectations time out. */
export const EXPECTATION_TIMEOUT_MS = 30_000;

/** caughtUp compares resourceVersions numerically when both are numbers (the compact apiserver's are). */
function caughtUp(cached: string | undefined, written: string): boolean {
  if (cached === undefined) return false;
  if (/^\d+$/.test(cached) && /^\d+$/.test(written)) return BigInt(cached) >= BigInt(written);
  return cached === written;
}

export class WriteTracker {
  private readonly owners = new Map<string, Map<string, Expect>>();

  private forOwner(owner: string): Map<string, Expect> {
    let m = this.owners.get(owner);
    if (!m) this.owners.set(owner, (m = new Map()));
    return m;
  }

  recordWrite(owner: string, name: string, resourceVersion: string | undefined): void {
    if (resourceVersion) this.forOwner(owner).set(name, { rv: resourceVersion, at: Date.now() });
  }

  recordDelete(owner: string, name: string): void {
    this.forOwner(owner).set(name, { rv: undefined, at: Date.now() });
  }

  /**
   * isStale tells whether the cache lacks one of the owner's writes; entries
   * the cache shows are dropped. A deleted object counts as seen once it is
   * gone or marked for deletion.
   */
  isStale(owner: string, lookup: (name: string) => Cached | undefined): boolean {
    const m = this.owners.get(owner);
    if (!m) return false;
    let stale = false;
    for (const [name, want] of m) {
      const c = lookup(name);
      const seen = want.rv === undefined ? c === undefined || c.deleting : c !== undefined && caughtUp(c.resourceVersion, want.rv);
      if (seen || Date.now() - want.at > EXPECTATION_TIMEOUT_MS) m.delete(name);
      else stale = true;
    }
    if (m.size === 0) this.owners.delete(owner);
    return stale;
  }

  forgetOwner(owner: string): void {
    this.owners.delete(owner);
  }
}
