import { describe, expect, it } from "vitest";
import { VMID, VIRQ_ANY } from "../abi/rm.ts";
import * as P from "./payloads.ts";
import { call, freshState, u32At } from "./testkit.ts";
import { lentIrqOf } from "./irq.ts";

const H = VMID.HLOS;

describe("IRQ lending", () => {
  it("lend, notify, accept, release, reclaim with the RM's errors at each step", () => {
    const s = freshState();
    const g = u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data);
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
