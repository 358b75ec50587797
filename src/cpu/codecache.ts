import { onRewriteInPlace } from "../core/bytes.ts";
import type { Core } from "./core.ts";

/**
 * Compiled code, remembered per RAM page (a cache, not state: the same with or without it). Code
 * is keyed by the page's byte array and the PC it was compiled at, so a page shared at two
 * addresses, or a copy made by copy-on-write, gets its own code, and an earlier state's page keeps
 * its own. A page written in place drops its code (`invalidateCode`), and so does every block
 * already linked to it (`valid`).
 */
export interface Block {
  readonly pc: number;
  /** Instructions in the block. */
  readonly n: number;
  /** Runs the block; returns the number of its instructions that retired. */
  readonly fn: (c: Core) => number;
  valid: boolean;
  /**
   * The block that ran after this one last time, and its PC, stamped with the run that linked it:
   * within one run the bus's pages do not change, so a link made in this run can skip the fetch
   * translation and the cache look-up (block chaining).
   */
  next: Block | null;
  nextPc: number;
  nextRun: number;
}

const blocks = new WeakMap<Uint8Array, Map<number, Block>>();
const singles = new WeakMap<Uint8Array, Map<number, Block>>();

export function hasCode(page: Uint8Array): boolean {
  return blocks.has(page) || singles.has(page);
}

/** Forgets every compiled block of `page`: its bytes changed. */
export function invalidateCode(page: Uint8Array): void {
  for (const cache of [blocks, singles]) {
    const m = cache.get(page);
    if (m === undefined) continue;
    for (const b of m.values()) b.valid = false;
    cache.delete(page);
  }
}

/** The block cache of a page (`single`: one-instruction blocks, for exact stepping). */
export function codeOf(page: Uint8Array, single: boolean): Map<number, Block> | undefined {
  return (single ? singles : blocks).get(page);
}

export function newCodeOf(page: Uint8Array, single: boolean): Map<number, Block> {
  const m = new Map<number, Block>();
  (single ? singles : blocks).set(page, m);
  return m;
}

// Guest RAM written in place by the machine (DMA, the VMM loading an image) drops its code too.
onRewriteInPlace(invalidateCode);
