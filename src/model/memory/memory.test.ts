import { describe, expect, it } from "vitest";
import { boot, buildVm, errX, hvc, must, okX, rootCaps, VM1 } from "../hyp/testkit.ts";
import { translate } from "./stage2.ts";
import { ownerOf } from "./memdb.ts";

const s0 = boot();
const { partition: P, cspace: CS } = rootCaps(s0);
const [sv, vm] = buildVm(s0);
const meId = (s: typeof s0, cap: bigint): number => {
  const cs = s.objects.byId[3]!;
  return cs.type === "cspace" ? cs.caps[Number(cap)]!.object : 0;
};

describe("memextent_configure (0x31) / activation", () => {
  it("checks in the source's order", () => {
    const [s, me] = must(s0, "partition_create_memextent", [P, CS]);
    expect(hvc(s, "memextent_configure", [me, VM1.ram, 0, 7])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "memextent_configure", [me, VM1.ram + 1, 0x1000, 7])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    expect(hvc(s, "memextent_configure", [me, VM1.ram, 0x1000, 0])[1]).toEqual(errX("ARGUMENT_INVALID")); // access NONE
    expect(hvc(s, "memextent_configure", [me, VM1.ram, 0x1000, 0x307])[1]).toEqual(errX("ARGUMENT_INVALID")); // CACHED without S2FWB
    expect(hvc(s, "memextent_configure", [me, VM1.ram, 0x1000, 0x8000_0007])[1]).toEqual(errX("ARGUMENT_INVALID")); // append
  });
  it("activation takes ownership from the partition; memory it does not own ⇒ MEMDB_NOT_OWNER", () => {
    let [s, me] = must(s0, "partition_create_memextent", [P, CS]);
    [s] = must(s, "memextent_configure", [me, 0x8100_0000, 0x1000, 7]); // the RM image: owned by the RM's extent
    expect(hvc(s, "object_activate", [me])[1]).toEqual(errX("MEMDB_NOT_OWNER"));
    expect(ownerOf(sv, VM1.ram)).toEqual({ type: "EXTENT", id: meId(sv, vm.me) });
  });
});

describe("addrspace_map/unmap/update_access/lookup (0x2B-0x2D, 0x5A) and translate()", () => {
  it("maps the whole BASIC extent: translate() names PA, access and owner", () => {
    expect(translate(sv, 1, VM1.ipa + 0x1234)).toEqual({ pa: VM1.ram + 0x1234, access: 7, memextent: meId(sv, vm.me), owner: { type: "EXTENT", id: meId(sv, vm.me) } });
    expect(translate(sv, 1, VM1.ipa + VM1.ramSize)).toBeNull();
    expect(translate(sv, 9, VM1.ipa)).toBeNull();
  });
  it("rejects bad attributes, alignment, partial on BASIC, a fifth mapping", () => {
    expect(hvc(sv, "addrspace_map", [vm.as, vm.me, VM1.ipa + 1, 0x0f_0077, 0, 0, 0])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    expect(hvc(sv, "addrspace_map", [vm.as, vm.me, VM1.ipa, 0x0f_0077 | 0x8, 0, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_map", [vm.as, vm.me, VM1.ipa, 0x0f_0077, 2, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_map", [vm.as, vm.me, VM1.ipa, 0x0f_0077, 1, 0, 0x1000])[1]).toEqual(errX("MEMEXTENT_TYPE"));
    let s = sv;
    for (let i = 1; i < 4; i++) [s] = must(s, "addrspace_map", [vm.as, vm.me, 0x1000_0000 * i, 0x0f_0044, 0, 0, 0]);
    expect(hvc(s, "addrspace_map", [vm.as, vm.me, 0x5000_0000, 0x0f_0044, 0, 0, 0])[1]).toEqual(errX("MEMEXTENT_MAPPINGS_FULL"));
  });
  it("needs ADDRSPACE.MAP then MEMEXTENT.MAP", () => {
    expect(hvc(sv, "addrspace_map", [vm.me, vm.me, VM1.ipa, 0x0f_0077, 0, 0, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(sv, "addrspace_map", [vm.as, vm.as, VM1.ipa, 0x0f_0077, 0, 0, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
  it("update_access narrows the stage-2; lookup reports offset, size, attrs; unmap removes it", () => {
    let [s] = must(sv, "addrspace_update_access", [vm.as, vm.me, VM1.ipa, 0x44, 0, 0, 0]);
    expect(translate(s, 1, VM1.ipa)?.access).toBe(4);
    expect(hvc(s, "addrspace_lookup", [vm.as, vm.me, VM1.ipa + 0x2000, 0x1000])[1]).toEqual(okX(0x2000, 0x1000, 0x0f_0044));
    expect(hvc(s, "addrspace_lookup", [vm.as, vm.me, 0x9000_0000, 0x1000])[1]).toEqual(errX("ADDR_INVALID"));
    expect(hvc(s, "addrspace_unmap", [vm.as, vm.me, 0x9000_0000, 0, 0, 0])[1]).toEqual(errX("ADDR_INVALID"));
    [s] = must(s, "addrspace_unmap", [vm.as, vm.me, VM1.ipa, 0, 0, 0]);
    expect(translate(s, 1, VM1.ipa)).toBeNull();
  });
});

describe("derive (0x32) and donate (0x61)", () => {
  it("a derived BASIC child takes its range and inherits the mapping with reduced access", () => {
    let [s, child] = must(sv, "partition_create_memextent", [P, CS]);
    expect(hvc(s, "memextent_configure_derive", [child, vm.me, VM1.ramSize, 0x1000, 6])[1]).toEqual(errX("ADDR_INVALID"));
    expect(hvc(s, "memextent_configure_derive", [child, vm.me, 0x800, 0x1000, 6])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    [s] = must(s, "memextent_configure_derive", [child, vm.me, 0x8000, 0x2000, 6]);
    [s] = must(s, "object_activate", [child]);
    const id = meId(s, child);
    expect(translate(s, 1, VM1.ipa + 0x8000)).toEqual({ pa: VM1.ram + 0x8000, access: 6, memextent: id, owner: { type: "EXTENT", id } });
    expect(translate(s, 1, VM1.ipa + 0xa000)?.memextent).toBe(meId(s, vm.me));
    // Deleting the child gives the range and the mapping back to the parent.
    [s] = must(s, "cspace_delete_cap_from", [CS, child]);
    expect(translate(s, 1, VM1.ipa + 0x8000)).toEqual({ pa: VM1.ram + 0x8000, access: 7, memextent: meId(s, vm.me), owner: { type: "EXTENT", id: meId(s, vm.me) } });
  });
  it("donates partition → SPARSE extent; the mapping follows ownership; BASIC ⇒ MEMEXTENT_TYPE", () => {
    let [s, sp] = must(sv, "partition_create_memextent", [P, CS]);
    [s] = must(s, "memextent_configure", [sp, 0x8300_0000, 0x10_0000, 0x1_0006]);
    [s] = must(s, "object_activate", [sp]);
    [s] = must(s, "addrspace_map", [vm.as, sp, 0x6000_0000, 0x0f_0066, 0, 0, 0]);
    expect(translate(s, 1, 0x6000_0000)).toBeNull();
    expect(hvc(s, "memextent_donate", [0, P, sp, 0x800, 0x1000])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    expect(hvc(s, "memextent_donate", [0, P, sp, 0, 0])[1]).toEqual(errX("ARGUMENT_SIZE"));
    expect(hvc(s, "memextent_donate", [0, P, sp, 0x10_0000, 0x1000])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "memextent_donate", [0, CS, sp, 0, 0x1000])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(s, "memextent_donate", [0, P, vm.me, 0, 0x1000])[1]).toEqual(errX("MEMEXTENT_TYPE"));
    [s] = must(s, "memextent_donate", [0, P, sp, 0x1000, 0x2000]);
    expect(translate(s, 1, 0x6000_1000)).toMatchObject({ pa: 0x8300_1000, access: 6, memextent: meId(s, sp) });
    expect(translate(s, 1, 0x6000_3000)).toBeNull();
    expect(hvc(s, "memextent_donate", [0, P, sp, 0x1000, 0x1000])[1]).toEqual(errX("MEMDB_NOT_OWNER"));
    [s] = must(s, "memextent_donate", [1, sp, P, 0x1000, 0x2000]);
    expect(translate(s, 1, 0x6000_1000)).toBeNull();
    expect(ownerOf(s, 0x8300_1000)).toEqual({ type: "PARTITION", id: 2 });
  });
});

describe("addrspace_configure_vmmio (0x60), attach_vdevice (0x62), attach_vdma (0x2F), memextent_modify (0x30)", () => {
  it("adds and removes exact ranges", () => {
    expect(hvc(sv, "addrspace_configure_vmmio", [vm.as, 0x0a00_0000, 0x1000, 0])[1]).toEqual(errX("ARGUMENT_INVALID")); // overlaps
    expect(hvc(sv, "addrspace_configure_vmmio", [vm.as, 0x0a00_0000, 0x2000, 1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_configure_vmmio", [vm.as, 0x0a00_0000, 0x1000, 1])[1]).toEqual(okX());
    expect(hvc(sv, "addrspace_configure_vmmio", [vm.as, 0x0b00_0000, 0x1000, 2])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
  it("attach_vdevice: GICD needs 64 KiB, GICR 128 KiB; vdma ⇒ WRONG_OBJECT_TYPE", () => {
    expect(hvc(sv, "addrspace_attach_vdevice", [vm.as, vm.vic, 0, 0x3f00_0000, 0x1000, 0])[1]).toEqual(errX("ARGUMENT_SIZE"));
    expect(hvc(sv, "addrspace_attach_vdevice", [vm.as, vm.vic, 0, 0x3f00_0000, 0x1_0000, 0])[1]).toEqual(okX());
    expect(hvc(sv, "addrspace_attach_vdevice", [vm.as, vm.vic, 2, 0x3f10_0000, 0x2_0000, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "addrspace_attach_vdma", [vm.as, vm.vic, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
  it("modify: UNMAP_ALL unmaps; cache ops need NoSync; SYNC_ALL must not have it", () => {
    const [s] = must(sv, "memextent_modify", [vm.me, 0, 0, 0]);
    expect(translate(s, 1, VM1.ipa)).toBeNull();
    expect(hvc(sv, "memextent_modify", [vm.me, 1, 0, 0x1000])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "memextent_modify", [vm.me, 0x8000_0001, 0, 0x1000])[1]).toEqual(okX());
    expect(hvc(sv, "memextent_modify", [vm.me, 0x8000_00ff, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(sv, "memextent_modify", [vm.me, 0xff, 0, 0])[1]).toEqual(okX());
  });
});
