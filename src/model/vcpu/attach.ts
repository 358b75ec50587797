import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg, arg32, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { bindShared, unbindShared } from "../vgic/virq.ts";
import type { ThreadObject } from "./state.ts";

/**
 * Attaching a thread to its containers before activation (reference §4.2: the container must be
 * ACTIVE, the thread INIT; re-attaching before activation replaces the attachment), and the VPM
 * group calls (reference §2.10, §6.5).
 */

function initThread(s: Machine, c: Caller, cap: bigint): ThreadObject | HvReturn {
  const t = lookupInit(s, c.cspace, cap, "thread");
  return t.ok ? t.value : fail(t.error);
}

export const attachHypercalls: HypercallTable = {
  cspace_attach_thread(s, c, a) {
    const cs = lookup(s, c.cspace, a[0] ?? 0n, "cspace", RIGHTS.cspace.ATTACH);
    if (!cs.ok) return fail(cs.error);
    const t = initThread(s, c, a[1] ?? 0n);
    if ("error" in t) return t;
    t.cspace = cs.value.id;
    return OK;
  },
  addrspace_attach_thread(s, c, a) {
    const as = lookup(s, c.cspace, a[0] ?? 0n, "addrspace", RIGHTS.addrspace.ATTACH);
    if (!as.ok) return fail(as.error);
    const t = initThread(s, c, a[1] ?? 0n);
    if ("error" in t) return t;
    let attached = 0;
    for (const id of s.objects.ids) {
      const o = s.objects.byId[id]!;
      if (o.type === "thread" && o.addrspace === as.value.id && o.id !== t.id) attached++;
    }
    if (attached >= s.sched.cpus.length) return fail("NOMEM"); // ≤ PLATFORM_MAX_CORES threads per addrspace
    t.addrspace = as.value.id;
    return OK;
  },
  vic_attach_vcpu(s, c, a) {
    const vic = lookup(s, c.cspace, a[0] ?? 0n, "vic", RIGHTS.vic.ATTACH_VCPU);
    if (!vic.ok) return fail(vic.error);
    const t = initThread(s, c, a[1] ?? 0n);
    if ("error" in t) return t;
    const index = arg32(a, 2);
    if (index >= vic.value.maxVcpus) return fail("ARGUMENT_INVALID");
    t.vic = vic.value.id;
    t.vicIndex = index;
    return OK;
  },
  vpm_group_attach_vcpu(s, c, a) {
    const vpm = lookup(s, c.cspace, a[0] ?? 0n, "vpm_group", RIGHTS.vpm_group.ATTACH_VCPU);
    if (!vpm.ok) return fail(vpm.error);
    const t = initThread(s, c, a[1] ?? 0n);
    if ("error" in t) return t;
    const index = arg32(a, 2);
    if (index >= s.sched.cpus.length) return fail("ARGUMENT_INVALID");
    const g = vpm.value;
    // The PSCI slot is taken at activation (vcpu/activate.ts), not here (GH:hyp/vm/psci/src/psci_common.c:925-952).
    t.vpm = g.id;
    t.vpmIndex = index;
    return OK;
  },
  vpm_group_bind_virq(s, c, a) {
    const vpm = lookup(s, c.cspace, a[0] ?? 0n, "vpm_group", RIGHTS.vpm_group.BIND_VIRQ);
    if (!vpm.ok) return fail(vpm.error);
    const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
    if (!vic.ok) return fail(vic.error);
    if (vpm.value.virq !== null) return fail("VIRQ_BOUND");
    const virq = arg32(a, 2);
    const e = bindShared(vic.value, virq, { kind: "vpm_group", object: vpm.value.id });
    if (e !== null) return fail(e);
    vpm.value.virq = { vic: vic.value.id, virq };
    return OK;
  },
  vpm_group_unbind_virq(s, c, a) {
    const vpm = lookup(s, c.cspace, a[0] ?? 0n, "vpm_group", RIGHTS.vpm_group.BIND_VIRQ);
    if (!vpm.ok) return fail(vpm.error);
    unbindShared(s, vpm.value.virq);
    vpm.value.virq = null;
    return OK;
  },
  /** RUNNING (1) if any member is powered on and not suspended, else CPUS_SUSPENDED (2); NO_STATE (0) empty ⚠. */
  vpm_group_get_state(s, c, a) {
    const vpm = lookup(s, c.cspace, a[0] ?? 0n, "vpm_group", RIGHTS.vpm_group.QUERY);
    if (!vpm.ok) return fail(vpm.error);
    const members = vpm.value.vcpus.filter((id) => id !== 0).map((id) => s.objects.byId[id] as ThreadObject | undefined);
    if (members.length === 0) return okWith(0n);
    const awake = members.some((t) => t !== undefined && t.power === "ON" && t.suspend === 0);
    return okWith(awake ? 1n : 2n);
  },
  /** Unknown option bits are UNIMPLEMENTED, checked before the lookup (GH:hyp/vm/vpm_base/src/hypercalls.c:20-29). */
  vpm_group_configure(s, c, a) {
    const flags = arg(a, 1);
    if ((flags & ~1n) !== 0n) return fail("UNIMPLEMENTED");
    const vpm = lookupInit(s, c.cspace, a[0] ?? 0n, "vpm_group");
    if (!vpm.ok) return fail(vpm.error);
    vpm.value.flags = Number(flags);
    return OK;
  },
};
