const SLAB_SIZE = 64 * 1024;

/**
 * ResponseArena holds the prebuilt responses of a cache back to back in
 * 64 KB slabs. A response copied into Node's shared 8 KB pool shares its
 * slab with whatever else was allocated beside it (the copy sent to the
 * client, scratch buffers), and one cached response keeps all of that
 * resident. The cache is only ever emptied as a whole, and so is the
 * arena: reset() lets the old slabs go once their views are dropped.
 */
export class ResponseArena {
  #slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  #used = 0;

  /** copy returns a view of a copy of `response` in the arena. */
  copy(response: Uint8Array): Buffer {
    const len = response.length;
    if (len > SLAB_SIZE / 4) return Buffer.from(response);
    if (this.#used + len > SLAB_SIZE) this.reset();
    const view = this.#slab.subarray(this.#used, this.#used + len);
    view.set(response);
    this.#used += len;
    return view;
  }

  /** reset starts a new slab; views handed out stay valid. */
  reset(): void {
    this.#slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    this.#used = 0;
  }
}
