/**
 * Page contents as the RM, the VMM and devices see them, on top of the hypervisor's memory rooms:
 * who can reach what comes from HYP's stage-2 (`translate`, src/model/memory/stage2.ts) and memdb;
 * this module adds only what the hypervisor does not model, a label of whose data each physical
 * range holds (for leak checks) and the bytes of the few pages devices and the RM read (rings,
 * request headers, the VM config blob), both keyed by physical address.
 */
import { writableBytes } from "../../core/bytes.ts";
import type { Machine } from "../machine.ts";
import { s2Lookup } from "../memory/stage2.ts";
import type { AddrspaceObject, S2Range } from "../memory/state.ts";
import { objectAs } from "../object/objects.ts";
import { findRange, setRange, noShift, type Range } from "./ranges.ts";

export const PAGE = 0x1000;

export interface ContentState {
  labels: Range<string>[];
  /**
   * Bytes of pages a device or queue touches, by PA page number. Written through `writableBytes`
   * (in place on the fast path), so each array is held by this key alone and never by an event.
   */
  pages: Record<number, Uint8Array>;
}

/** Genesis: every RAM range holds nobody's data yet; the HLOS's RAM is labelled as its own. */
export function contentGenesis(ram: readonly { base: number; size: number }[], label: string | null): ContentState {
  return { labels: label === null ? [] : ram.map((r) => ({ base: r.base, size: r.size, value: label })), pages: {} };
}

interface HasContent {
  content: ContentState;
}

/**
 * The physical pieces behind [ipa, ipa+size) of `vmid`'s stage-2 (HYP's table, walked range by
 * range), with their access; null if any part is unmapped.
 */
export function physPieces(s: Machine, vmid: number, ipa: number, size: number): { pa: number; size: number; rights: number; memextent: number }[] | null {
  const as = addrspaceOf(s, vmid);
  if (as === undefined) return null;
  const out: { pa: number; size: number; rights: number; memextent: number }[] = [];
  const end = ipa + size;
  for (let at = ipa; at < end; ) {
    const r = s2Lookup(as, at);
    if (r === undefined) return null;
    const stop = Math.min(end, r.ipa + r.size);
    out.push({ pa: r.pa + (at - r.ipa), size: stop - at, rights: r.access, memextent: r.memextent });
    at = stop;
  }
  return out;
}

function addrspaceOf(s: Machine, vmid: number): AddrspaceObject | undefined {
  const vm = s.vms[vmid];
  return vm === undefined ? undefined : objectAs(s, vm.addrspace, "addrspace");
}

/** The range of `vmid`'s stage-2 that translates `ipa`, if any. */
export function s2RangeAt(s: Machine, vmid: number, ipa: number): S2Range | undefined {
  const as = addrspaceOf(s, vmid);
  return as === undefined ? undefined : s2Lookup(as, ipa);
}

/** Does `vmid` reach all of [ipa, ipa+size) with at least `rights` (pgtable_access bits)? */
export function reaches(s: Machine, vmid: number, ipa: number, size: number, rights: number): boolean {
  return reachablePieces(s, vmid, ipa, size, rights) !== null;
}

/** `physPieces` when `vmid` reaches all of [ipa, ipa+size) with at least `rights`, else null: one walk for both. */
export function reachablePieces(s: Machine, vmid: number, ipa: number, size: number, rights: number): { pa: number; size: number }[] | null {
  const p = physPieces(s, vmid, ipa, size);
  if (p === null) return null;
  for (const x of p) if ((x.rights & rights) !== rights) return null;
  return p;
}

export function labelOf(s: HasContent, pa: number): string | null {
  return findRange(s.content.labels, pa)?.value ?? null;
}

export function setLabel(s: HasContent, pa: number, size: number, label: string): void {
  // Most writes land in a range that already holds the writer's data: nothing to split or merge.
  const r = findRange(s.content.labels, pa);
  if (r !== undefined && r.value === label && pa + size <= r.base + r.size) return;
  setRange(s.content.labels, pa, size, label, noShift);
}

/** Zeroes a physical range: its label becomes "zero" and any stored bytes are dropped. */
export function zeroRange(s: HasContent, pa: number, size: number): void {
  setLabel(s, pa, size, "zero");
  for (let p = Math.floor(pa / PAGE); p < Math.ceil((pa + size) / PAGE); p++) {
    if (s.content.pages[p] !== undefined) delete s.content.pages[p];
  }
}

/** Copies of at most this many bytes go byte by byte: faster than making a subarray view to `set` from (measured crossover ~36 bytes). */
const SMALL_COPY = 32;

/** Reads bytes at a physical address (pages never written read as zero). */
export function readPhys(s: HasContent, pa: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  readPhysInto(s, pa, out, 0, size);
  return out;
}

/** Reads [ipa, ipa+size) as `vmid` sees it, through its stage-2; null where any byte is unmapped. */
export function readIpa(s: Machine, vmid: number, ipa: number, size: number): Uint8Array | null {
  const pieces = physPieces(s, vmid, ipa, size);
  if (pieces === null) return null;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    readPhysInto(s, p.pa, out, at, p.size);
    at += p.size;
  }
  return out;
}

/** Copies `size` bytes at a physical address into `out` from `at`; `out` must be zero there (unwritten pages are skipped). */
export function readPhysInto(s: HasContent, pa: number, out: Uint8Array, at: number, size: number): void {
  for (let i = 0; i < size; ) {
    const page = Math.floor((pa + i) / PAGE);
    const off = pa + i - page * PAGE; // not `%`: PAs are above 2^31, where `%` is a floating-point fmod
    const n = Math.min(PAGE - off, size - i);
    const bytes = s.content.pages[page];
    if (bytes !== undefined) {
      // Ring fields and descriptors are a few bytes: a loop beats making a subarray view to `set` from.
      if (n <= SMALL_COPY) for (let k = 0; k < n; k++) out[at + i + k] = bytes[off + k]!;
      else out.set(bytes.subarray(off, off + n), at + i);
    }
    i += n;
  }
}

/**
 * Writes `data[0, len)` at a physical address. Each touched page comes from `writableBytes`: written
 * in place on the fast path, copied first on the pure path (old states keep their bytes); the bytes
 * are copied in.
 */
export function writePhys(s: HasContent, pa: number, data: Uint8Array, label: string, len: number = data.length): void {
  for (let i = 0; i < len; ) {
    const page = Math.floor((pa + i) / PAGE);
    const off = pa + i - page * PAGE; // not `%`: PAs are above 2^31, where `%` is a floating-point fmod
    const n = Math.min(PAGE - off, len - i);
    const bytes = writableBytes(s.content.pages, page, PAGE);
    // A whole `data` is `set` directly; a part of it, when small (a ring field from a scratch
    // buffer), byte by byte rather than through a subarray view.
    if (n === data.length) bytes.set(data, off);
    else if (n <= SMALL_COPY) for (let k = 0; k < n; k++) bytes[off + k] = data[i + k]!;
    else bytes.set(data.subarray(i, i + n), off);
    i += n;
  }
  setLabel(s, pa, len, label);
}
