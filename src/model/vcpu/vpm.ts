import type { HvError } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { ThreadObject, VpmGroupObject } from "./state.ts";

/**
 * Virtual power-management groups as vPSCI uses them (GH:hyp/vm/psci/src/psci_common.c): a vCPU
 * attached to a VPM group (its psci_group) gets Gunyah's PSCI; one outside any group gets none of
 * it (every PSCI call but PSCI_FEATURES is unhandled: SMCCC NOT_SUPPORTED). A group configured with
 * no_aggregation puts its members in VPM mode NONE (no online-count vote); otherwise mode PSCI.
 */

/** The vCPU's psci_group, if it has one. */
export function psciGroup(s: Machine, t: ThreadObject): VpmGroupObject | undefined {
  return t.vpm === 0 ? undefined : objectAs(s, t.vpm, "vpm_group");
}

/** vpm_mode (psci_common.c:871-879): aggregated PSCI voting, or none. */
export const aggregates = (g: VpmGroupObject): boolean => (g.flags & 1) === 0;

/** vcpu_poweron event: a group member coming on counts as online (psci_common.c:1222-1238). */
export function onVcpuPoweron(s: Machine, t: ThreadObject): HvError | null {
  const g = psciGroup(s, t);
  if (g !== undefined) g.online += 1;
  return null;
}

/**
 * vcpu_poweroff event (psci_common.c:1240-1275): outside a group the call is allowed only for the
 * last vCPU or when forced; in PSCI mode the "last" flag must match the online count (so CPU_OFF
 * of the last online vCPU is DENIED) and the count drops; in mode NONE it is always allowed.
 */
export function vpmPoweroff(s: Machine, t: ThreadObject, last: boolean, force: boolean): HvError | null {
  const g = psciGroup(s, t);
  if (g === undefined) return last || force ? null : "DENIED";
  if (!aggregates(g)) return null;
  if (!force && last !== (g.online === 1)) return "DENIED";
  g.online = Math.max(0, g.online - 1);
  return null;
}

/** The member at PSCI index `i` of the caller's group (psci_get_thread_by_mpidr, psci_common.c:238-266). */
export function groupMember(s: Machine, g: VpmGroupObject, i: number): ThreadObject | undefined {
  const id = g.vcpus[i] ?? 0;
  return id === 0 ? undefined : objectAs(s, id, "thread");
}
