/** phaseTimer records how long each phase of a full sync took, as `ms_<phase>` stats. */
export function phaseTimer(): ((name: string) => void) & { done(): Record<string, number> } {
  const times: Record<string, number> = {};
  let last = performance.now();
  const mark = (name: string) => {
    const now = performance.now();
    times[`ms_${name}`] = Math.round(now - last);
    last = now;
  };
  return Object.assign(mark, { done: () => times });
}
