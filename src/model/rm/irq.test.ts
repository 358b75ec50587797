import { describe, expect, it } from "vitest";
import { VMID, VIRQ_ANY } from "../abi/rm.ts";
import * as P from "./payloads.ts";
import { call, freshState, readyVm, u32At } from "./testkit.ts";
import { lentIrqOf, releaseAllIrqs } from "./irq.ts";
import { onIrq } from "../vgic/handlers.ts";
import type { HwirqObject, VicObject } from "../vgic/state.ts";
import { rmInvariants } from "./invariants.ts";

const H = VMID.HLOS;

describe("IRQ lending", () => {
  it("lend, notify, accept, release, reclaim with the RM's errors at each step", () => {
    const s = freshState();
    // A borrower with a VIC: the RM makes it at VM_INIT, not VM_ALLOCATE (RM:src/vm_config/vm_config.c:3935-4010).
    const g = readyVm(s).vmid;
    expect(call(s, H, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: g, virq: 16, label: 1 })).err).toBe("IRQ_INVALID");
    expect(call(s, H, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: 0x99, virq: 40, label: 1 })).err).toBe("VMID_INVALID");
    const h = u32At(call(s, H, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: g, virq: 40, label: 9 })).data);
    expect(h).toBe(0x1000 + 40);
    expect(call(s, H, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: g, virq: 40, label: 9 })).err).toBe("IRQ_INUSE");
    const lent = call(s, H, "VM_IRQ_NOTIFY", P.encodeU32s(h, 1));
    expect(lent.notify.map((n) => [n.to, n.msg])).toEqual([[g, "NOTIFY_VM_IRQ_LENT"]]);
    expect(call(s, g, "VM_IRQ_NOTIFY", P.encodeU32s(h, 4)).err).toBe("IRQ_RELEASED");
    expect(call(s, H, "VM_IRQ_ACCEPT", P.encodeU32s(h, VIRQ_ANY)).err).toBe("HANDLE_INVALID");
    expect(u32At(call(s, g, "VM_IRQ_ACCEPT", P.encodeU32s(h, VIRQ_ANY)).data)).toBe(40);
    expect(lentIrqOf(s, g, 40)?.owner).toBe(H);
    expect(call(s, g, "VM_IRQ_ACCEPT", P.encodeU32s(h, VIRQ_ANY)).err).toBe("IN_USE");
    expect(call(s, g, "VM_IRQ_NOTIFY", P.encodeU32s(h, 4)).notify[0]!.msg).toBe("NOTIFY_VM_IRQ_ACCEPTED");
    expect(call(s, H, "VM_IRQ_RECLAIM", P.encodeU32s(h)).err).toBe("IN_USE");
    expect(call(s, g, "VM_IRQ_NOTIFY", P.encodeU32s(h, 2)).err).toBe("IRQ_INUSE");
    expect(call(s, g, "VM_IRQ_RELEASE", P.encodeU32s(h)).err).toBe("OK");
    expect(lentIrqOf(s, g, 40)).toBeNull();
    expect(call(s, g, "VM_IRQ_RELEASE", P.encodeU32s(h)).err).toBe("IN_USE");
    expect(call(s, g, "VM_IRQ_NOTIFY", P.encodeU32s(h, 2)).notify[0]!.msg).toBe("NOTIFY_VM_IRQ_RELEASED");
    expect(call(s, H, "VM_IRQ_RECLAIM", P.encodeU32s(h)).err).toBe("OK");
    expect(s.rm.irqs.ids).toEqual([]);
  });
});

describe("IRQ lending through the vGIC", () => {
  const fire = (s: ReturnType<typeof freshState>, hwirq: number) => {
    s.seq += 1;
    return onIrq(s, { kind: "irq", seq: s.seq, t: s.t, hwirq });
  };
  it("a lent hardware SPI is bound in the borrower's VIC between accept and release, in the owner's otherwise", () => {
    const s = freshState();
    const g = readyVm(s).vmid;
    const hlosVic = s.rm.hv!.vms[H]!.vic;
    const gVic = s.rm.hv!.vms[g]!.vic;
    const vic = (id: number) => s.objects.byId[id] as VicObject;
    // Before: the HLOS owns SPI 40 at VIRQ 40 (boot binding), so the line reaches the HLOS's vCPU 0.
    expect(fire(s, 40)).toEqual({ delivered: true, virq: 40, vm: H, vcpu: 0, woke: false });
    // A guest cannot lend a line it does not have bound.
    const g2 = u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data);
    expect(call(s, g, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: g2, virq: 41, label: 1 })).err).toBe("IRQ_INVALID");
    const h = u32At(call(s, H, "VM_IRQ_LEND", P.encodeIrqLend({ borrower: g, virq: 40, label: 9 })).data);
    // Lent, not yet accepted: unbound from the owner (the forwarded line is dropped), reaches nobody.
    expect(vic(hlosVic).sources[40]).toBeUndefined();
    expect(vic(hlosVic).spis[40]).toMatchObject({ hw: false, pending: false, active: false });
    expect(fire(s, 40)).toEqual({ delivered: false, reason: "unbound" });
    // Accept at a VIRQ the borrower already uses (its RM channel's 1019): refused, still OFFERED.
    expect(call(s, g, "VM_IRQ_ACCEPT", P.encodeU32s(h, 1019)).err).toBe("IRQ_INVALID");
    expect(s.rm.irqs.byId[h]!.state).toBe("OFFERED");
    expect(u32At(call(s, g, "VM_IRQ_ACCEPT", P.encodeU32s(h, 50)).data)).toBe(50);
    expect(vic(gVic).sources[50]).toEqual({ kind: "hwirq", object: s.hwirqs[40] });
    expect(vic(gVic).spis[50]).toMatchObject({ hw: true, enabled: true });
    const inv = rmInvariants.find((i) => i.name === "rm.irq_lending_bound")!;
    expect(inv.check(s)).toBeNull();
    // Broken on purpose: the line pointed back at the owner's VIC behind the RM's back.
    const hw = s.objects.byId[s.hwirqs[40]!] as HwirqObject;
    const saved = hw.virq;
    hw.virq = { vic: hlosVic, virq: 40 };
    expect(inv.check(s)).toMatchObject({ path: `rm.irqs.byId.${h}`, objects: { handle: h, hwirq: 40, owner: H, borrower: g } });
    expect(inv.check(s)!.detail).toBe(`IRQ 40 lent by VM 3 to VM ${g} is ACCEPTED but its line is bound to VIRQ 40 of VIC ${hlosVic}`);
    hw.virq = saved;
    // Accepted: the SPI reaches the borrower's vCPU 0 at VIRQ 50; the owner no longer sees it.
    expect(fire(s, 40)).toEqual({ delivered: true, virq: 50, vm: g, vcpu: 0, woke: false });
    expect(fire(s, 40)).toEqual({ delivered: false, reason: "active" });
    expect(vic(hlosVic).spis[40]!.pending).toBe(false);
    // Released while the line was still active: unbound from the borrower, the line dropped.
    expect(call(s, g, "VM_IRQ_RELEASE", P.encodeU32s(h)).err).toBe("OK");
    expect(vic(gVic).sources[50]).toBeUndefined();
    expect(fire(s, 40)).toEqual({ delivered: false, reason: "unbound" });
    // Accept again, then the borrower's reset (RELEASE_IRQS) unbinds it too.
    expect(u32At(call(s, g, "VM_IRQ_ACCEPT", P.encodeU32s(h, VIRQ_ANY)).data)).toBe(40);
    expect(fire(s, 40)).toEqual({ delivered: true, virq: 40, vm: g, vcpu: 0, woke: false });
    releaseAllIrqs({ s, caller: 0, notes: [] }, g);
    expect(s.rm.irqs.byId[h]!.state).toBe("OFFERED");
    expect(fire(s, 40)).toEqual({ delivered: false, reason: "unbound" });
    // Reclaimed: back at the owner's VIRQ 40.
    expect(call(s, H, "VM_IRQ_RECLAIM", P.encodeU32s(h)).err).toBe("OK");
    expect(vic(hlosVic).sources[40]).toEqual({ kind: "hwirq", object: s.hwirqs[40] });
    expect(fire(s, 40)).toEqual({ delivered: true, virq: 40, vm: H, vcpu: 0, woke: false });
  });
});
