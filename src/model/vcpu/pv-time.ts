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
