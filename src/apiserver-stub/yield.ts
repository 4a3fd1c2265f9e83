/**
 * Cooperative yielding for long requests (issue 19). Handling a 3 MiB object
 * takes several hundred milliseconds of main-thread work in steps of tens
 * (parse, field validation, field ownership, type checks, encoding, the
 * response); requests waiting meanwhile, health probes first, would wait for
 * all of it. A step boundary calls yieldIfBusy: once the current turn of the
 * event loop has run longer than sliceMs, the step waits in a queue that
 * releases one step per turn, so pending I/O is served between any two steps
 * (several large requests resuming in the same turn would otherwise run back
 * to back).
 */
export const sliceMs = 20;

let sliceStart = 0;
let sliceOpen = false;
const waiting: (() => void)[] = [];

/** yieldIfBusy returns a promise to await when the turn has run past sliceMs or others wait, else undefined (no cost for small requests). */
export function yieldIfBusy(): Promise<void> | undefined {
  if (!sliceOpen) {
    openSlice();
    if (waiting.length === 0) return undefined;
  } else if (performance.now() - sliceStart < sliceMs && waiting.length === 0) return undefined;
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (waiting.length === 1) setImmediate(releaseOne);
  });
}

/** The first step boundary of a turn starts its slice; the slice ends with the turn. */
function openSlice(): void {
  sliceOpen = true;
  sliceStart = performance.now();
  setImmediate(() => (sliceOpen = false));
}

/** releaseOne lets the longest-waiting step run, and the next one a turn later. */
function releaseOne(): void {
  const next = waiting.shift();
  openSlice();
  next?.();
  if (waiting.length > 0) setImmediate(releaseOne);
}
