import { firstEndingAfter } from "../memory/sorted.ts";

/**
 * Sorted, non-overlapping address ranges carrying a value: the cheap representation this model
 * uses for stage-2 maps (IPA -> PA), ownership and page-content labels. Lists stay short (tens of
 * entries), but they are consulted on every page write, so lookups are binary searches and an
 * update splices only the ranges it touches.
 *
 * Every list must be sorted by base with no overlaps: `setRange` keeps that, so a list built only
 * through it (or starting sorted, like the HLOS's RAM at genesis) stays sorted.
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
  const r = list[firstEndingAfter(list, addr)];
  return r !== undefined && r.base <= addr ? r : undefined;
}

/**
 * Sets [base, base+size) to `value` (or clears it for null), cutting overlapping ranges. Mutates
 * `list` in place with plain array writes (works on immer drafts and plain copies alike): the
 * ranges overlapping the new one are replaced by what is left of them around it.
 */
export function setRange<T>(list: Range<T>[], base: number, size: number, value: T | null, shift: Shift<T>): void {
  const end = base + size;
  // [i, j): the ranges overlapping [base, end); with none, i = j is where the new range goes.
  let i = firstEndingAfter(list, base);
  // An empty update (size 0) goes before empty ranges at its address, where the whole-list rebuild
  // this replaced put it; for any other update this never steps.
  while (i > 0 && list[i - 1]!.base >= end) i--;
  let j = i;
  while (j < list.length && list[j]!.base < end) j++;
  const pieces: Range<T>[] = [];
  const first = list[i];
  if (j > i && first!.base < base) pieces.push({ base: first!.base, size: base - first!.base, value: first!.value });
  if (value !== null) pieces.push({ base, size, value });
  const last = list[j - 1];
  if (j > i && last!.base + last!.size > end) pieces.push({ base: end, size: last!.base + last!.size - end, value: shift(last!.value, end - last!.base) });
  list.splice(i, j - i, ...pieces);
  mergeAdjacent(list, shift);
}

/**
 * Adjacent ranges that continue each other merge, so the lists stay as short as the facts they
 * hold. The whole list is checked, not just around the update: a list that starts out unmerged
 * (genesis RAM given as adjacent ranges) merges on its first update, as it always has. In place,
 * writing only where a merge happens (the common pass writes nothing).
 */
function mergeAdjacent<T>(list: Range<T>[], shift: Shift<T>): void {
  let w = 0;
  for (let k = 0; k < list.length; k++) {
    const r = list[k]!;
    const prev = w > 0 ? list[w - 1]! : undefined;
    if (prev !== undefined && prev.base + prev.size === r.base && sameValue(shift(prev.value, prev.size), r.value)) {
      list[w - 1] = { base: prev.base, size: prev.size + r.size, value: prev.value };
    } else {
      if (w !== k) list[w] = r;
      w++;
    }
  }
  if (w !== list.length) list.length = w;
}

/** Shallow equality for range values: primitives, or objects of primitives. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k]) return false;
  return true;
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
