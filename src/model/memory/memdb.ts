import { err, ok, type Result } from "../../core/errors.ts";
import type { HvError } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import type { MemdbOwnerType, MemdbRange } from "./state.ts";
import { firstEndingAfter } from "./sorted.ts";

/**
 * The memory ownership database (reference §5.1, GH:hyp/interfaces/memdb/memdb.tc): sorted,
 * non-overlapping ranges. Ownership moves only by an update naming the expected current owner;
 * a mismatch is MEMDB_NOT_OWNER. Lookups are binary searches; updates splice O(ranges touched).
 */
export interface MemdbOwner {
  readonly type: MemdbOwnerType;
  readonly id: number;
}


/** Who owns the physical byte `pa`; null for memory nobody owns (NOTYPE). */
export function ownerOf(s: Machine, pa: number): MemdbOwner | null {
  const r = s.memdb.ranges[firstEndingAfter(s.memdb.ranges, pa)];
  return r !== undefined && r.base <= pa ? { type: r.ownerType, id: r.owner } : null;
}

/** Is all of [base, base+size) owned by `owner`? */
export function ownsRange(s: Machine, base: number, size: number, owner: MemdbOwner): boolean {
  const ranges = s.memdb.ranges;
  let at = base;
  const end = base + size;
  for (let i = firstEndingAfter(ranges, base); at < end; i++) {
    const r = ranges[i];
    if (r === undefined || r.base > at || r.owner !== owner.id || r.ownerType !== owner.type) return false;
    at = r.base + r.size;
  }
  return true;
}

/** The sub-ranges of [base, base+size) owned by `ownerId`, in address order (memdb_range_walk). */
export function ownedPieces(s: Machine, base: number, size: number, ownerId: number): { base: number; size: number }[] {
  const out: { base: number; size: number }[] = [];
  const ranges = s.memdb.ranges;
  const end = base + size;
  for (let i = firstEndingAfter(ranges, base); i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.base >= end) break;
    if (r.owner !== ownerId) continue;
    const b = Math.max(base, r.base);
    const e = Math.min(end, r.base + r.size);
    if (e > b) out.push({ base: b, size: e - b });
  }
  return out;
}

/** Moves [base, base+size) from `from` to `to`; the whole range must be owned by `from`. */
export function memdbUpdate(s: Machine, base: number, size: number, to: MemdbOwner, from: MemdbOwner): Result<void, HvError> {
  if (!ownsRange(s, base, size, from)) return err("MEMDB_NOT_OWNER");
  setOwner(s.memdb.ranges, base, size, to);
  return ok(undefined);
}

/** Inserts ownership of unowned memory (boot: RAM given to the partitions). */
export function memdbInsert(s: Machine, base: number, size: number, to: MemdbOwner): Result<void, HvError> {
  const ranges = s.memdb.ranges;
  const i = firstEndingAfter(ranges, base);
  const r = ranges[i];
  if (r !== undefined && r.base < base + size) return err("MEMDB_NOT_OWNER");
  setOwner(ranges, base, size, to);
  return ok(undefined);
}

/** Rewrites [base, base+size) to one owner, splitting the edges and merging equal neighbours. */
function setOwner(ranges: MemdbRange[], base: number, size: number, to: MemdbOwner): void {
  const end = base + size;
  const i = firstEndingAfter(ranges, base);
  let j = i;
  while (j < ranges.length && ranges[j]!.base < end) j++;
  const repl: MemdbRange[] = [];
  const first = ranges[i];
  if (first !== undefined && i < j && first.base < base) repl.push({ ...first, size: base - first.base });
  repl.push({ base, size, ownerType: to.type, owner: to.id });
  const last = ranges[j - 1];
  if (last !== undefined && j > i && last.base + last.size > end) {
    repl.push({ ...last, base: end, size: last.base + last.size - end });
  }
  ranges.splice(i, j - i, ...repl);
  mergeAround(ranges, i, i + repl.length);
}

function sameOwner(a: MemdbRange, b: MemdbRange): boolean {
  return a.owner === b.owner && a.ownerType === b.ownerType && a.base + a.size === b.base;
}

function mergeAround(ranges: MemdbRange[], from: number, to: number): void {
  for (let k = Math.min(to, ranges.length - 1); k > Math.max(0, from - 1); k--) {
    const a = ranges[k - 1]!;
    const b = ranges[k]!;
    if (sameOwner(a, b)) {
      ranges[k - 1] = { ...a, size: a.size + b.size };
      ranges.splice(k, 1);
    }
  }
}
