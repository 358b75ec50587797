import { describe, expect, it } from "vitest";
import { produce } from "immer";
import { checkInvariants } from "../../core/invariants.ts";
import { hvModel, type Machine } from "../machine.ts";
import { boot, buildVm } from "./testkit.ts";
import type { IrqState } from "../vgic/state.ts";

/** Each invariant is broken by constructing a bad state; the checker must name it. */
const [good] = buildVm(boot(), { powerOn: true });
const broken = (recipe: (d: Machine) => void): string | undefined => checkInvariants(produce(good, recipe), hvModel.invariants)?.invariant;

describe("hypervisor invariants", () => {
  it("hold on a built VM", () => expect(checkInvariants(good, hvModel.invariants)).toBeNull());
  it("memdb.one_owner_per_page", () => {
    expect(broken((d) => void d.memdb.ranges.splice(1, 0, { ...d.memdb.ranges[1]!, base: d.memdb.ranges[1]!.base + 0x1000 }))).toBe("memdb.one_owner_per_page");
  });
  it("addrspace.maps_only_reachable_memory", () => {
    expect(
      broken((d) => {
        const as = d.objects.byId[d.vms[1]!.addrspace]!;
        if (as.type === "addrspace") as.s2.push({ ipa: 0x9000_0000, size: 0x1000, pa: 0x8000_0000, access: 7, userAccess: 7, memtype: 15, memextent: as.s2[0]!.memextent });
      }),
    ).toBe("addrspace.maps_only_reachable_memory");
  });
  it("object.caps_point_to_live_objects", () => {
    expect(
      broken((d) => {
        const cs = d.objects.byId[3]!;
        if (cs.type === "cspace") cs.caps[0]!.object = 9999;
      }),
    ).toBe("object.caps_point_to_live_objects");
  });
  it("object.cspace_counts_consistent", () => {
    expect(
      broken((d) => {
        const cs = d.objects.byId[3]!;
        if (cs.type === "cspace") cs.capCount += 1;
      }),
    ).toBe("object.cspace_counts_consistent");
  });
  it("scheduler.accounting_adds_up", () => {
    expect(
      broken((d) => {
        const t = d.objects.byId[4]!;
        if (t.type === "thread") t.acct.runNs += 1;
      }),
    ).toBe("scheduler.accounting_adds_up");
  });
  it("scheduler.runs_only_runnable_threads", () => {
    expect(
      broken((d) => {
        d.sched.cpus[1]!.current = 4;
      }),
    ).toBe("scheduler.runs_only_runnable_threads");
  });
  it("vgic.virq_pending_only_on_own_vm", () => {
    expect(
      broken((d) => {
        const rmVic = d.objects.byId[7]!;
        if (rmVic.type === "vic") {
          (rmVic.spis as Record<number, IrqState>)[40] = { enabled: true, pending: true, level: false, active: false, edge: true, priority: 0, route: 0, hw: false };
          rmVic.vcpus[0] = d.vms[1]!.vcpus[0]!;
        }
      }),
    ).toBe("vgic.virq_pending_only_on_own_vm");
  });
});
