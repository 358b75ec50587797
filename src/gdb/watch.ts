import { ACCESS_WRITE, type RefusedAccess } from "../cpu/index.ts";
import type { Watchpoint, WatchKind } from "./target.ts";

/** How both targets see watchpoints: by refusing accesses to the pages that hold them. */

export const PAGE = 4096;
export const pageOf = (address: number): number => Math.floor(address / PAGE) * PAGE;
/** The widest single access (a pair of X registers is two accesses). */
const ACCESS_BYTES_MAX = 16;

/**
 * The pages whose loads and stores are refused so watchpoints are seen exactly. A watch near the
 * start of a page guards the page before it too, so an access that begins there and runs into
 * the watched bytes is refused at its first byte, with its true start address.
 */
export function pagesOfWatchpoints(watches: readonly Watchpoint[]): Set<number> {
  const pages = new Set<number>();
  for (const w of watches) {
    if (w.address >= 1n << 52n) continue;
    const start = Number(w.address);
    for (let p = pageOf(start); p < start + w.length; p += PAGE) pages.add(p);
    if (start % PAGE < ACCESS_BYTES_MAX && start >= PAGE) pages.add(pageOf(start) - PAGE);
  }
  return pages;
}

/** The watchpoint an access triggers and the first watched byte it touches, or null. */
export function watchHit(watches: readonly Watchpoint[], a: RefusedAccess): { watch: WatchKind; address: bigint } | null {
  const write = a.access === ACCESS_WRITE;
  const start = a.address;
  const end = start + BigInt(a.sizeBytes);
  for (const w of watches) {
    if (w.kind === (write ? "read" : "write")) continue;
    const wEnd = w.address + BigInt(w.length);
    if (start < wEnd && w.address < end) return { watch: w.kind, address: start > w.address ? start : w.address };
  }
  return null;
}
