/**
 * Index of the first range of `list` (sorted by base, disjoint) that ends above `addr`: the range
 * holding `addr` if any holds it, else the one after (list.length if none). Physical memory maps
 * (memdb, the RM's content labels) are searched by halves with it: they are walked on every DMA and
 * page write.
 */
export function firstEndingAfter(list: readonly { readonly base: number; readonly size: number }[], addr: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = list[mid]!;
    if (r.base + r.size <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
