import { readReg } from "../../cpu/index.ts";
import { describe, expect, it } from "vitest";
import { findNonSerializableValue } from "../../core/serializable.ts";
import { checkInvariants } from "../../core/invariants.ts";
import { hvModel } from "../machine.ts";
import { translate } from "../memory/stage2.ts";
import { ownerOf } from "../memory/memdb.ts";
import { boot, hvc, okX, rootCaps } from "./testkit.ts";
import { HYP_API_FLAGS0, HYP_API_INFO } from "./identify.ts";

describe("genesis: the root VM bootstrap (reference §4.6)", () => {
  const s = boot();
  it("gives the RM caps 0..5 in rootvm_init order and the free RAM", () => {
    expect(rootCaps(s)).toEqual({ cspace: 0, partition: 1, vcpu: 2, addrspace: 3, me: 4, vic: 5 });
    expect(s.rootEnv.vic_hwirq[0]).toEqual({ irq: 32, capid: 6 });
    expect(s.rootEnv.free_ranges).toEqual([{ base: 0x8200_0000, size: 0x3e00_0000 }]);
  });
  it("maps the RM image 1:1 in VMID 255, owned by its memextent", () => {
    const tr = translate(s, 255, 0x8100_0000);
    expect(tr).toEqual({ pa: 0x8100_0000, access: 7, memextent: 6, owner: { type: "EXTENT", id: 6 } });
    expect(translate(s, 255, 0x8200_0000)).toBeNull();
    expect(ownerOf(s, 0x8000_0000)).toEqual({ type: "PARTITION", id: 1 });
    expect(ownerOf(s, 0x8200_0000)).toEqual({ type: "PARTITION", id: 2 });
    expect(ownerOf(s, 0x1000)).toBeNull();
  });
  it("has the RM vCPU powered on, running on CPU 0, with X0 = env IPA", () => {
    expect(s.sched.cpus[0]!.current).toBe(4);
    const t = s.objects.byId[4]!;
    expect(t.type === "thread" && t.power).toBe("ON");
    expect(t.type === "thread" && readReg(t.cpu, 0)).toBe(0x8200_0000n - 0x1_0000n);
  });
  it("is plain data and keeps every invariant", () => {
    expect(findNonSerializableValue(s)).toBe(false);
    expect(checkInvariants(s, hvModel.invariants)).toBeNull();
  });
  it("answers hypervisor_identify from the RM", () => {
    const [, o] = hvc(s, "hypervisor_identify", []);
    expect(o).toEqual({ x: [HYP_API_INFO, HYP_API_FLAGS0, 0n, 0n] });
    expect(okX(1)).toEqual({ x: [0n, 1n] });
  });
});
