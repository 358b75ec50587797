/**
 * The SMMU's translation cache (IOTLB), the place the `smmu-map-kept-after-reclaim` defect lives.
 * The SMMU walks the bound VM's stage-2 (src/model/smmu) and caches what it found, per stream and
 * 4 KiB page. A correct hypervisor invalidates the cache whenever it changes a stage-2 (here: a
 * cached entry is used only while it still matches the VM's stage-2, so a change is never
 * missed); with the defect the invalidation after a reclaim is skipped and a stale entry keeps
 * reaching memory that went back to its owner. Every DMA's translation is recorded beside what the
 * VM's stage-2 said at that moment, and `isolation.smmu_within_vm` compares the two.
 */
import type { Machine } from "../machine.ts";
import { translate } from "../memory/stage2.ts";
import { physPieces } from "../rm/content.ts";
import { defectOn } from "../faults.ts";

const PAGE = 0x1000;
/** A few entries are enough to show the bug class; FIFO replacement. */
const IOTLB_ENTRIES = 8;

export interface IotlbEntry {
  sid: number;
  vmid: number;
  /** Page-aligned IOVA and PA, and the access bits of the walk that filled it. */
  iova: number;
  pa: number;
  rights: number;
}

type Piece = { pa: number; size: number; rights: number };

/**
 * The SMMU's translation of a DMA of `size` bytes at `iova` through stream `sid` (bound to `vmid`):
 * from the IOTLB when a single-page access hits, else by walking the VM's stage-2 (and filling the
 * IOTLB). Null: translation fault. Records the result in `pvm.lastDma`.
 */
export function smmuTranslate(s: Machine, sid: number, vmid: number, iova: number, size: number): Piece[] | null {
  const page = iova - (iova % PAGE);
  const single = iova + size <= page + PAGE;
  const tlb = s.pvm.iotlb;
  const hit = single ? tlb.findIndex((e) => e.sid === sid && e.vmid === vmid && e.iova === page) : -1;
  if (hit >= 0) {
    const e = tlb[hit]!;
    const now = translate(s, vmid, page);
    // Coherent: the entry still matches the stage-2. With the defect a stale entry is used anyway.
    if ((now !== null && now.pa === e.pa && now.access === e.rights) || defectOn(s, "smmu-map-kept-after-reclaim")) {
      const pieces = [{ pa: e.pa + (iova - page), size, rights: e.rights }];
      s.pvm.lastDma = { sid, vmid, iova, pa: pieces[0]!.pa, s2pa: now === null ? null : now.pa + (iova - page), cached: true };
      return pieces;
    }
    tlb.splice(hit, 1);
  }
  const pieces = physPieces(s, vmid, iova, size);
  if (pieces === null) return null;
  if (single) {
    if (tlb.length >= IOTLB_ENTRIES) tlb.shift();
    tlb.push({ sid, vmid, iova: page, pa: pieces[0]!.pa - (iova - page), rights: pieces[0]!.rights });
  }
  s.pvm.lastDma = { sid, vmid, iova, pa: pieces[0]!.pa, s2pa: pieces[0]!.pa, cached: false };
  return pieces;
}
