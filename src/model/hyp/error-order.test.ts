/**
 * Which error wins when several apply, and other wire-visible details, checked against
 * quic/gunyah-hypervisor @36ca3a2 (issue 19). Each test names the source line it follows.
 */
import { describe, expect, it } from "vitest";
import { mutableCopy } from "../../core/reducer.ts";
import type { Machine } from "../machine.ts";
import { boot, buildVm, enter, errX, hvc, must, okX, rootCaps, step, VM1 } from "./testkit.ts";
import type { VicObject } from "../vgic/state.ts";

const s0 = boot();
const { partition: P, cspace: CS } = rootCaps(s0);
const [sv, vm] = buildVm(s0, { powerOn: true });

describe("addrspace_map (GH:hyp/mem/addrspace/src/hypercalls.c:119-168, memextent.c:375-415, 745-790)", () => {
  it("reserved attribute bits are ARGUMENT_INVALID before the cap lookups (hypercalls.c:127-131)", () => {
    // CS is a cspace, not an addrspace: the lookup would say WRONG_OBJECT_TYPE, but the reserved bit 8 comes first.
    expect(hvc(sv, "addrspace_map", [CS, vm.me, VM1.ipa, 0x0f_0177, 0, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_unmap", [CS, vm.me, VM1.ipa, 0x2, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_map", [CS, vm.me, VM1.ipa, 0x0f_0077, 0, 0, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
  it("the memtype policy refuses a memtype that is no pgtable_vm_memtype, even for an ANY extent (memextent.c:745-790)", () => {
    const [s, me] = must(sv, "partition_create_memextent", [P, CS]);
    const [s2] = must(s, "memextent_configure", [me, VM1.ram + 0x20_0000, 0x1000, 7]);
    const [s3] = must(s2, "object_activate", [me]);
    expect(hvc(s3, "addrspace_map", [vm.as, me, 0x5000_0000, 0x04_0077, 0, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID")); // memtype 4
    expect(hvc(s3, "addrspace_map", [vm.as, me, 0x5000_0000, 0x05_0077, 0, 0, 0])[1]).toEqual(okX()); // NORMAL_NC
  });
  it("a read-only addrspace refuses maps and unmaps with DENIED (memextent.c:406-407, 470-471)", () => {
    const s = mutableCopy(sv);
    const as = Object.values(s.objects.byId).find((o) => o.type === "addrspace" && o.vmid === 1)!;
    (as as { readOnly: boolean }).readOnly = true;
    expect(hvc(s, "addrspace_map", [vm.as, vm.me, 0x5000_0000, 0x0f_0077, 0, 0, 0])[1]).toEqual(errX("DENIED"));
    expect(hvc(s, "addrspace_unmap", [vm.as, vm.me, VM1.ipa, 0, 0, 0])[1]).toEqual(errX("DENIED"));
  });
});

describe("hwirq_bind_virq (GH:hyp/vm/vgic/src/distrib.c:1008-1023)", () => {
  it("a VIRQ that is not an SPI is ARGUMENT_INVALID before VIRQ_BOUND", () => {
    const hw = s0.rootEnv.vic_hwirq[0]!.capid;
    const vic = s0.rootEnv.vic;
    const [s] = must(s0, "hwirq_bind_virq", [hw, vic, 40]);
    expect(hvc(s, "hwirq_bind_virq", [hw, vic, 27])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "hwirq_bind_virq", [hw, vic, 41])[1]).toEqual(errX("VIRQ_BOUND"));
  });
});

describe("cspace_copy_cap_from (GH:hyp/core/cspace_twolevel/src/cspace_twolevel.c:631-656)", () => {
  it("allocates the destination slot first: a full destination beats a bad source cap", () => {
    let [s, cs] = must(s0, "partition_create_cspace", [P, CS]);
    [s] = must(s, "cspace_configure", [cs, 1]);
    [s] = must(s, "object_activate", [cs]);
    [s] = must(s, "cspace_copy_cap_from", [CS, cs, cs, 0xffff_ffff]); // the only slot
    expect(hvc(s, "cspace_copy_cap_from", [CS, 0x7f00, cs, 0xffff_ffff])[1]).toEqual(errX("CSPACE_FULL"));
    // With room, a bad source is reported, and the slot it took is free again.
    expect(hvc(s0, "cspace_copy_cap_from", [CS, 0x7f00, CS, 0xffff_ffff])[1]).toEqual(errX("CSPACE_CAP_NULL"));
  });
});

describe("msgqueue_send (GH:hyp/ipc/msgqueue/src/msgqueue_common.c:21-83)", () => {
  const queue = (): [Machine, bigint] => {
    let [s, q] = must(sv, "partition_create_msgqueue", [P, CS]);
    [s] = must(s, "msgqueue_configure", [q, (8 << 16) | 2]); // depth 2, max size 8
    [s] = must(s, "object_activate", [q]);
    return [s, q];
  };
  it("a full queue is MSGQUEUE_FULL before the size check; a 0-byte message is legal", () => {
    let [s, q] = queue();
    let o;
    [s, o] = hvc(s, "msgqueue_send", [q, 0, 0, 0]);
    expect(o).toEqual(okX(1));
    [s] = must(s, "msgqueue_send", [q, 4, 0, 0]);
    expect(hvc(s, "msgqueue_send", [q, 100, 0, 0])[1]).toEqual(errX("MSGQUEUE_FULL"));
    expect(hvc(s, "msgqueue_receive", [q, 0, 8])[1]).toMatchObject({ x: [0n, 0n, 1n] });
  });
  it("the receive VIRQ is raised when the count reaches the threshold exactly, not above it (:69-73)", () => {
    let [s, q] = queue();
    [s] = must(s, "msgqueue_bind_receive_virq", [q, vm.vic, 50]);
    const level = (st: Machine) => ((st.objects.byId[(st.objects.byId[st.vms[1]!.vcpus[0]!] as { vic: number }).vic] as VicObject).spis[50]?.level ?? false);
    [s] = must(s, "msgqueue_send", [q, 4, 0, 0]);
    expect(level(s)).toBe(true);
    // Rebinding drops the level; the next message takes the count to 2, above the threshold 1: no VIRQ.
    [s] = must(s, "msgqueue_unbind_receive_virq", [q]);
    [s] = must(s, "msgqueue_bind_receive_virq", [q, vm.vic, 50]);
    [s] = must(s, "msgqueue_send", [q, 4, 0, 0]);
    expect(level(s)).toBe(false);
    // msgqueue_configure_receive re-evaluates it at once (msgqueue.c:103-115).
    [s] = must(s, "msgqueue_configure_receive", [q, 2, -1, -1]);
    expect(level(s)).toBe(true);
  });
});
