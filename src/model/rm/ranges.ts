/**
 * Sorted, non-overlapping address ranges carrying a value: the cheap representation this model
 * uses for stage-2 maps (IPA -> PA), ownership and page-content labels. Lists stay short (tens of
 * entries), so a linear scan and an array splice per update keep per-event work small.
 */
export interface Range<T> {
  base: number;
  size: number;
  value: T;
}

/** How a value follows a split: a range cut `delta` bytes in (e.g. a mapping's PA moves by delta). */
export type Shift<T> = (value: T, delta: number) => T;
export const noShift = <T>(v: T): T => v;

export function findRange<T>(list: readonly Range<T>[], addr: number): Range<T> | undefined {
  for (const r of list) {
    if (addr < r.base) return undefined;
    if (addr < r.base + r.size) return r;
  }
  return undefined;
}

/**
 * Sets [base, base+size) to `value` (or clears it for null), cutting overlapping ranges. Mutates
 * `list` in place with plain array writes (works on immer drafts and plain copies alike).
 */
export function setRange<T>(list: Range<T>[], base: number, size: number, value: T | null, shift: Shift<T>): void {
  const end = base + size;
  const out: Range<T>[] = [];
  let inserted = false;
  for (const r of list) {
    const rEnd = r.base + r.size;
    if (rEnd <= base || r.base >= end) {
      if (!inserted && r.base >= end) {
        if (value !== null) out.push({ base, size, value });
        inserted = true;
      }
      out.push(r);
      continue;
    }
    if (r.base < base) out.push({ base: r.base, size: base - r.base, value: r.value });
    if (!inserted) {
      if (value !== null) out.push({ base, size, value });
      inserted = true;
    }
    if (rEnd > end) out.push({ base: end, size: rEnd - end, value: shift(r.value, end - r.base) });
  }
  if (!inserted && value !== null) out.push({ base, size, value });
  list.length = 0;
  // Adjacent ranges that continue each other merge, so the lists stay as short as the facts they hold.
  for (const r of out) {
    const prev = list[list.length - 1];
    if (prev !== undefined && prev.base + prev.size === r.base && sameValue(shift(prev.value, prev.size), r.value)) {
      list[list.length - 1] = { base: prev.base, size: prev.size + r.size, value: prev.value };
    } else list.push(r);
  }
}

/** Shallow equality for range values: primitives, or objects of primitives. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

/** The pieces of [base, base+size) with their values; gaps are returned with value null. */
export function sliceRanges<T>(list: readonly Range<T>[], base: number, size: number, shift: Shift<T>): Range<T | null>[] {
  const end = base + size;
  const out: Range<T | null>[] = [];
  let at = base;
  for (const r of list) {
    const rEnd = r.base + r.size;
    if (rEnd <= at) continue;
    if (r.base >= end) break;
    if (r.base > at) {
      out.push({ base: at, size: r.base - at, value: null });
      at = r.base;
    }
    const stop = Math.min(rEnd, end);
    out.push({ base: at, size: stop - at, value: shift(r.value, at - r.base) });
    at = stop;
  }
  if (at < end) out.push({ base: at, size: end - at, value: null });
  return out;
}
