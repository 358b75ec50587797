import { writableBytes } from "../../core/bytes.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { ThreadObject } from "./state.ts";

/**
 * Arm paravirtualised stolen time as Gunyah builds it (GH:hyp/vm/arm_pv_time): the structures
 * live in the VM information area the RM configures on the VM's addrspace
 * (addrspace_configure_info_area), one 64-byte pv_time_data per vCPU indexed by its GICR index
 * (arm_pv_time.tc:5-15, 69-71). Both calls are SMC64 only; -1 is SMCCC_UNKNOWN_FUNCTION64.
 */

/** pv_time_data is aligned(64): entry i sits at info-area IPA + 64 * i. */
export const PV_TIME_ENTRY_BYTES = 64;

/** The VM information area of the vCPU's addrspace, if the RM configured one. */
export function infoAreaIpa(s: Machine, t: ThreadObject): number | null {
  return objectAs(s, t.addrspace, "addrspace")?.infoArea?.ipa ?? null;
}

/**
 * PV_TIME_FEATURES (arm_pv_time.c:22-58): PV_TIME_FEATURES itself is supported; PV_TIME_ST only when
 * the caller's addrspace has an info area; anything else (or a malformed ID) -1.
 */
export function pvTimeFeatures(s: Machine, t: ThreadObject, id: number): number {
  const ok = (id & 0x00fe_0000) === 0 && (id & 0xc000_0000) >>> 0 === 0xc000_0000 && ((id >>> 24) & 0x3f) === 5;
  const fn = id & 0xffff;
  if (ok && fn === 0x20) return 0;
  if (ok && fn === 0x21 && infoAreaIpa(s, t) !== null) return 0;
  return -1;
}

/** PV_TIME_ST (arm_pv_time.c:59-79): the IPA of this vCPU's stolen-time record, or -1 without an info area. */
export function pvTimeSt(s: Machine, t: ThreadObject): number {
  const ipa = infoAreaIpa(s, t);
  return ipa === null ? -1 : ipa + PV_TIME_ENTRY_BYTES * t.vicIndex;
}

/** stolen_ns sits after revision (u32) and attributes (u32) in pv_time_data (arm_pv_time.tc:5-15; DEN0057A §4.3). */
export const PV_TIME_STOLEN_OFFSET = 8;
const PAGE_BYTES = 0x1000;

/** The physical address of the vCPU's pv_time_data in its addrspace's info area, or null without one. */
export function pvTimeRecordPa(s: Machine, t: ThreadObject): number | null {
  const area = objectAs(s, t.addrspace, "addrspace")?.infoArea ?? null;
  if (area === null) return null;
  const me = objectAs(s, area.memextent, "memextent");
  return me === undefined ? null : me.base + PV_TIME_ENTRY_BYTES * t.vicIndex;
}

/**
 * What the guest reads at its record: stolen_ns (u64 LE), 0 for a page nobody wrote yet. Page
 * bytes are `s.content` (the RM room's byte store, keyed by PA page), read here without importing
 * the RM room: the info area is the RM's page, the hypervisor writes into it.
 */
export function readStolenRecord(s: Machine, t: ThreadObject): number | null {
  const pa = pvTimeRecordPa(s, t);
  if (pa === null) return null;
  const page = s.content.pages[Math.floor(pa / PAGE_BYTES)];
  if (page === undefined) return 0;
  const off = (pa % PAGE_BYTES) + PV_TIME_STOLEN_OFFSET;
  return Number(new DataView(page.buffer, page.byteOffset).getBigUint64(off, true));
}

/**
 * arm_pv_time_handle_thread_context_switch_post (arm_pv_time.c:140-182): when a vCPU is switched in,
 * the stolen stretch that just ended is added to its count and the total stored in its record. The
 * model keeps ns, Gunyah ticks converted to ns (⚠ at 62.5 MHz every count here is a multiple of 16 ns
 * only if event times are; the conversion's rounding is not modelled). Written only when it changed,
 * so a VM whose vCPUs are never held back leaves its info area untouched.
 */
export function publishStolenTime(s: Machine, t: ThreadObject): void {
  const pa = pvTimeRecordPa(s, t);
  if (pa === null || readStolenRecord(s, t) === t.acct.stolenNs) return;
  const page = writableBytes(s.content.pages, Math.floor(pa / PAGE_BYTES), PAGE_BYTES);
  new DataView(page.buffer, page.byteOffset).setBigUint64((pa % PAGE_BYTES) + PV_TIME_STOLEN_OFFSET, BigInt(t.acct.stolenNs), true);
}
