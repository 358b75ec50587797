/**
 * Memory as the RM, the VMM and devices see it: per-VM stage-2 maps (IPA -> PA with rights), the
 * owner of each physical range, and a label of whose data each range holds.
 *
 * A stand-in for HYP's memdb/memextent/addrspace rooms, kept behind the same queries the rest of
 * the model uses (`translate(s, vmid, ipa)`, `ownerOf(s, pa)`): when those rooms land, these
 * functions delegate to them and this slice goes away. Owners are strings: `vm:<vmid>` or
 * `parcel:<handle>` (a lent/donated range held by the RM for the parcel's lifetime, as the RM
 * moves lent memory into the parcel's own memextent: reference gunyah-rm-and-host.md §4.3).
 */
import { findRange, setRange, sliceRanges, noShift, type Range } from "./ranges.ts";

export const PAGE = 0x1000;

export interface S2Entry {
  pa: number;
  /** pgtable_access bits: X 1, W 2, R 4 (same encoding as RM ACL rights). */
  rights: number;
}

export interface VmMemState {
  s2: Record<number, Range<S2Entry>[]>;
  owners: Range<string>[];
  labels: Range<string>[];
  /** Bytes of pages a device or queue touches, by PA page number; copy-on-write (never mutated in place). */
  pages: Record<number, Uint8Array>;
}

const shiftS2 = (v: S2Entry, delta: number): S2Entry => ({ pa: v.pa + delta, rights: v.rights });

/** Genesis: the HLOS owns all RAM, identity-mapped RWX, holding its own data. */
export function vmmemGenesis(ram: readonly { base: number; size: number }[], hlos: number): VmMemState {
  const s2: Record<number, Range<S2Entry>[]> = { [hlos]: ram.map((r) => ({ base: r.base, size: r.size, value: { pa: r.base, rights: 7 } })) };
  return {
    s2,
    owners: ram.map((r) => ({ base: r.base, size: r.size, value: `vm:${hlos}` })),
    labels: ram.map((r) => ({ base: r.base, size: r.size, value: `vm${hlos}` })),
    pages: {},
  };
}

interface HasMem {
  vmmem: VmMemState;
}

/** Where `vmid`'s stage-2 sends `ipa`, or null when nothing is mapped there. */
export function translate(s: HasMem, vmid: number, ipa: number): { pa: number; rights: number } | null {
  const list = s.vmmem.s2[vmid];
  if (list === undefined) return null;
  const r = findRange(list, ipa);
  return r === undefined ? null : { pa: r.value.pa + (ipa - r.base), rights: r.value.rights };
}

/** Does `vmid` reach [ipa, ipa+size) with at least `rights`, all of it? */
export function reaches(s: HasMem, vmid: number, ipa: number, size: number, rights: number): boolean {
  const list = s.vmmem.s2[vmid];
  if (list === undefined) return false;
  for (const piece of sliceRanges(list, ipa, size, shiftS2)) {
    if (piece.value === null || (piece.value.rights & rights) !== rights) return false;
  }
  return true;
}

export function ownerOf(s: HasMem, pa: number): string | null {
  return findRange(s.vmmem.owners, pa)?.value ?? null;
}
export function labelOf(s: HasMem, pa: number): string | null {
  return findRange(s.vmmem.labels, pa)?.value ?? null;
}

/** The physical pieces behind [ipa, ipa+size) of `vmid`; null if any part is unmapped. */
export function physPieces(s: HasMem, vmid: number, ipa: number, size: number): { pa: number; size: number; rights: number }[] | null {
  const list = s.vmmem.s2[vmid] ?? [];
  const out: { pa: number; size: number; rights: number }[] = [];
  for (const piece of sliceRanges(list, ipa, size, shiftS2)) {
    if (piece.value === null) return null;
    out.push({ pa: piece.value.pa, size: piece.size, rights: piece.value.rights });
  }
  return out;
}

export function mapIpa(s: HasMem, vmid: number, ipa: number, pa: number, size: number, rights: number): void {
  const list = (s.vmmem.s2[vmid] ??= []);
  setRange(list, ipa, size, { pa, rights }, shiftS2);
}

export function unmapIpa(s: HasMem, vmid: number, ipa: number, size: number): void {
  const list = s.vmmem.s2[vmid];
  if (list !== undefined) setRange(list, ipa, size, null, shiftS2);
}

/** Removes every mapping of `vmid` onto [pa, pa+size) (e.g. a lend takes the owner's access away). */
export function unmapPa(s: HasMem, vmid: number, pa: number, size: number): void {
  const list = s.vmmem.s2[vmid];
  if (list === undefined) return;
  const hits: { ipa: number; size: number }[] = [];
  for (const r of list) {
    const lo = Math.max(r.value.pa, pa);
    const hi = Math.min(r.value.pa + r.size, pa + size);
    if (lo < hi) hits.push({ ipa: r.base + (lo - r.value.pa), size: hi - lo });
  }
  for (const h of hits) setRange(list, h.ipa, h.size, null, shiftS2);
}

export function setOwner(s: HasMem, pa: number, size: number, owner: string): void {
  setRange(s.vmmem.owners, pa, size, owner, noShift);
}

export function setLabel(s: HasMem, pa: number, size: number, label: string): void {
  setRange(s.vmmem.labels, pa, size, label, noShift);
}

/** Zeroes a physical range: its label becomes "zero" and any stored bytes are dropped. */
export function zeroRange(s: HasMem, pa: number, size: number): void {
  setLabel(s, pa, size, "zero");
  for (let p = Math.floor(pa / PAGE); p < Math.ceil((pa + size) / PAGE); p++) {
    if (s.vmmem.pages[p] !== undefined) delete s.vmmem.pages[p];
  }
}

/** Reads bytes at a physical address (pages never written read as zero). */
export function readPhys(s: HasMem, pa: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; ) {
    const page = Math.floor((pa + i) / PAGE);
    const off = (pa + i) % PAGE;
    const n = Math.min(PAGE - off, size - i);
    const bytes = s.vmmem.pages[page];
    if (bytes !== undefined) out.set(bytes.subarray(off, off + n), i);
    i += n;
  }
  return out;
}

/** Writes bytes at a physical address, copying each touched page (the pure path keeps old states intact). */
export function writePhys(s: HasMem, pa: number, data: Uint8Array, label: string): void {
  for (let i = 0; i < data.length; ) {
    const page = Math.floor((pa + i) / PAGE);
    const off = (pa + i) % PAGE;
    const n = Math.min(PAGE - off, data.length - i);
    const old = s.vmmem.pages[page];
    const next = new Uint8Array(PAGE);
    if (old !== undefined) next.set(old);
    next.set(data.subarray(i, i + n), off);
    s.vmmem.pages[page] = next;
    i += n;
  }
  setLabel(s, pa, data.length, label);
}
