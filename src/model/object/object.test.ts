import { describe, expect, it } from "vitest";
import { boot, buildVm, errX, hvc, must, okX, rootCaps } from "../hyp/testkit.ts";

const s0 = boot();
const { partition: P, cspace: CS, vcpu: RMV, me: RMME } = rootCaps(s0);

describe("partition_create_* (0x02-0x0B, 0x48)", () => {
  it("creates an INIT object with a master cap in the next free slot", () => {
    const [s, o] = hvc(s0, "partition_create_doorbell", [P, CS]);
    expect(o).toEqual(okX(38)); // caps 0..5 + 32 hwirqs = 38 slots used
    const cs = s.objects.byId[3]!;
    expect(cs.type === "cspace" && cs.caps[38]).toMatchObject({ type: "doorbell", master: true, rights: 0x8000_0007, state: "VALID" });
  });
  it("checks the partition cap first, then the cspace cap", () => {
    expect(hvc(s0, "partition_create_cspace", [CS, CS])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(s0, "partition_create_cspace", [P, P])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(s0, "partition_create_cspace", [0x1_0000, CS])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s0, "partition_create_cspace", [62, CS])[1]).toEqual(errX("ARGUMENT_INVALID")); // slot 62 of a 62-slot table
    expect(hvc(s0, "partition_create_cspace", [0x100, CS])[1]).toEqual(errX("CSPACE_CAP_NULL")); // table 1 not allocated
    expect(hvc(s0, "partition_create_cspace", [50, CS])[1]).toEqual(errX("CSPACE_CAP_NULL"));
  });
  it("partition_create_partition stays ERROR_UNIMPLEMENTED", () => {
    expect(hvc(s0, "partition_create_partition", [P, CS])[1]).toEqual(errX("UNIMPLEMENTED"));
    expect(hvc(s0, "object_reset", [RMV])[1]).toEqual(errX("UNIMPLEMENTED"));
    expect(hvc(s0, "cspace_revoke_cap_from", [CS, RMV])[1]).toEqual(errX("UNIMPLEMENTED"));
  });
  it("fails CSPACE_FULL when the target cspace is at max_caps", () => {
    let [s, cs] = must(s0, "partition_create_cspace", [P, CS]);
    [s] = must(s, "cspace_configure", [cs, 1]);
    [s] = must(s, "object_activate", [cs]);
    [s] = must(s, "partition_create_doorbell", [P, cs]);
    expect(hvc(s, "partition_create_doorbell", [P, cs])[1]).toEqual(errX("CSPACE_FULL"));
  });
});

describe("object_activate (0x0C) and per-type activation", () => {
  it("INIT → ACTIVE once; again ⇒ OBJECT_STATE", () => {
    let [s, db] = must(s0, "partition_create_doorbell", [P, CS]);
    expect(hvc(s, "object_activate", [db])[1]).toEqual(okX());
    [s] = hvc(s, "object_activate", [db]);
    expect(hvc(s, "object_activate", [db])[1]).toEqual(errX("OBJECT_STATE"));
  });
  it("cspace with max_caps 0 ⇒ OBJECT_CONFIG and the object is FAILED", () => {
    const [s1, cs] = must(s0, "partition_create_cspace", [P, CS]);
    const [s2, o] = hvc(s1, "object_activate", [cs]);
    expect(o).toEqual(errX("OBJECT_CONFIG"));
    expect(s2.objects.byId[Number(s2.objects.ids.at(-1))]!.state).toBe("FAILED");
    expect(hvc(s2, "object_activate", [cs])[1]).toEqual(errX("OBJECT_STATE"));
  });
  it("addrspace: no VMID ⇒ OBJECT_CONFIG; a VMID in use ⇒ BUSY", () => {
    let [s, as] = must(s0, "partition_create_addrspace", [P, CS]);
    expect(hvc(s, "object_activate", [as])[1]).toEqual(errX("OBJECT_CONFIG"));
    [s, as] = must(s0, "partition_create_addrspace", [P, CS]);
    [s] = must(s, "addrspace_configure", [as, 255]);
    expect(hvc(s, "object_activate", [as])[1]).toEqual(errX("BUSY"));
    expect(hvc(s, "addrspace_configure", [as, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
  it("thread without cspace/addrspace ⇒ OBJECT_CONFIG; without VIC ⇒ ARGUMENT_INVALID", () => {
    let [s, th] = must(s0, "partition_create_thread", [P, CS]);
    expect(hvc(s, "object_activate", [th])[1]).toEqual(errX("OBJECT_CONFIG"));
    [s, th] = must(s0, "partition_create_thread", [P, CS]);
    [s] = must(s, "cspace_attach_thread", [CS, th]);
    [s] = must(s, "addrspace_attach_thread", [3, th]);
    expect(hvc(s, "object_activate", [th])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
  it("configure calls need an INIT object of the right type", () => {
    expect(hvc(s0, "cspace_configure", [CS, 10])[1]).toEqual(errX("OBJECT_STATE"));
    expect(hvc(s0, "cspace_configure", [RMME, 10])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    const [s, cs] = must(s0, "partition_create_cspace", [P, CS]);
    expect(hvc(s, "cspace_configure", [cs, 14_445])[1]).toEqual(okX());
    expect(hvc(s, "cspace_configure", [cs, 14_445])[1]).toEqual(okX());
    expect(hvc(s, "cspace_configure", [cs, 14_445 + 2])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
});

describe("cspace_copy_cap_from (0x23), delete (0x22), revoke_caps (0x59)", () => {
  it("copies with masked rights; a zero mask ⇒ INSUFFICIENT_RIGHTS", () => {
    const [s, o] = hvc(s0, "cspace_copy_cap_from", [CS, RMV, CS, 0x1]);
    expect(o).toEqual(okX(38));
    const cs = s.objects.byId[3]!;
    expect(cs.type === "cspace" && cs.caps[38]).toMatchObject({ rights: 1, master: false });
    expect(hvc(s0, "cspace_copy_cap_from", [CS, RMV, CS, 0x8000])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
  });
  it("a copied cap without the right fails the call with INSUFFICIENT_RIGHTS", () => {
    let [s, vmc] = buildVm(s0, {}) as unknown as [typeof s0, { vcpu: bigint }];
    let weak: bigint;
    [s, weak] = must(s, "cspace_copy_cap_from", [CS, vmc.vcpu, CS, 0x2]);
    expect(hvc(s, "vcpu_poweron", [weak, 0, 0, 0])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
  });
  it("revoke makes copies REVOKED; non-master ⇒ INSUFFICIENT_RIGHTS; delete frees the slot", () => {
    let [s, copy] = must(s0, "cspace_copy_cap_from", [CS, RMME, CS, 0xff]);
    expect(hvc(s, "cspace_revoke_caps_from", [CS, copy])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    [s] = must(s, "cspace_revoke_caps_from", [CS, RMME]);
    expect(hvc(s, "addrspace_lookup", [3, copy, 0x8100_0000, 0x1000])[1]).toEqual(errX("CSPACE_CAP_REVOKED"));
    expect(hvc(s, "cspace_copy_cap_from", [CS, copy, CS, 1])[1]).toEqual(errX("CSPACE_CAP_REVOKED"));
    [s] = must(s, "cspace_delete_cap_from", [CS, copy]);
    expect(hvc(s, "cspace_delete_cap_from", [CS, copy])[1]).toEqual(errX("CSPACE_CAP_NULL"));
  });
  it("deleting the last cap of an unreferenced object destroys it", () => {
    let [s, db] = must(s0, "partition_create_doorbell", [P, CS]);
    const n = s.objects.ids.length;
    [s] = must(s, "cspace_delete_cap_from", [CS, db]);
    expect(s.objects.ids.length).toBe(n - 1);
  });
});
