/**
 * jsonSize estimates the serialised size of a JSON value in bytes (UTF-16
 * units of strings, digits of numbers, punctuation), walking it without
 * recursion and stopping as soon as the total passes `budget`: measuring a
 * huge or deep value costs no more than the budget. Returns Infinity past it.
 */
export function jsonSize(value: unknown, budget = Infinity): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length + 2;
    else if (typeof v === 'number') total += String(v).length;
    else if (typeof v === 'boolean') total += v ? 4 : 5;
    else if (v === null || v === undefined) total += 4;
    else if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v);
      total += 2 + keys.length;
      for (const k of keys) {
        total += k.length + 3;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
    if (total > budget) return Infinity;
  }
  return total;
}
