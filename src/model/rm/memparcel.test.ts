import { describe, expect, it } from "vitest";
import { VMID } from "../abi/rm.ts";
import * as P from "./payloads.ts";
import { call, DEFAULT_CONFIG, freshState, ownerName as ownerOf, reach as translate, readyVm, u32At, type TestState } from "./testkit.ts";
import { labelOf, writePhys } from "./content.ts";

const H = VMID.HLOS;
const A = 0x9800_0000; // a host page range used as the parcel
const SIZE = 0x2000;
const DONE = 0x80;
// Where the borrowers accept: clear of the info area page the RM maps at 0x4000_0000 (RM:src/vm_creation/vm_creation_pv_time.c:32-112).
const G = 0x5000_0000;

// Borrowers are running VMs: a VM accepts only once VM_INIT has made its address space, and
// MEM_NOTIFY SHARED to a VM still READY is taken by the RM itself
// (RM:src/memparcel/memparcel.c:2051-2066; tested below). Their image parcels take handles 1 and 2.
function withGuests(start = true): { s: TestState; g: number; g2: number } {
  const s = freshState();
  const g = readyVm(s, DEFAULT_CONFIG, 0, 0x9000_0000).vmid;
  const g2 = readyVm(s, DEFAULT_CONFIG, 0, 0x9100_0000).vmid;
  if (start) for (const v of [g, g2]) expect(call(s, H, "VM_START", P.encodeVmid(v)).err).toBe("OK");
  writePhys(s, A, new Uint8Array([1, 2, 3]), "vm3");
  return { s, g, g2 };
}
const imageParcels = [1, 2];
const create = (s: TestState, msg: "MEM_LEND" | "MEM_SHARE" | "MEM_DONATE", acl: P.AclEntry[], flags = 0, sgl = [{ ipa: A, size: SIZE }], label = 0) =>
  call(s, H, msg, P.encodeMemCreate({ memType: 0, flags, label, acl, sgl, attrs: [] }));
const accept = (s: TestState, vm: number, handle: number, transType: number, flags = DONE, sgl: P.SglEntry[] = [{ ipa: G, size: SIZE }], extra: Partial<P.MemAcceptReq> = {}) =>
  call(s, vm, "MEM_ACCEPT", P.encodeMemAccept({ handle, memType: 0, transType, flags, label: 0, acl: [], sgl, mapVmid: 0, attrs: [], ...extra }));
const release = (s: TestState, vm: number, handle: number, flags = 0) => call(s, vm, "MEM_RELEASE", P.encodeMemHandle({ handle, flags }));
const reclaim = (s: TestState, handle: number, flags = 0) => call(s, H, "MEM_RECLAIM", P.encodeMemHandle({ handle, flags }));

describe("MEM_LEND", () => {
  it("the owner loses access at create; the borrower reaches it between accept and release; reclaim restores the owner", () => {
    const { s, g } = withGuests();
    const lend = create(s, "MEM_LEND", [{ vmid: g, rights: 6 }]);
    const h = u32At(lend.data);
    expect(h).toBe(3);
    expect(translate(s, H, A)).toBeNull();
    expect(translate(s, g, G)).toBeNull();
    expect(ownerOf(s, A)).toBe("parcel:3");
    expect(accept(s, g, h, 1).err).toBe("OK");
    expect(translate(s, g, G + 0x1000)).toEqual({ pa: A + 0x1000, rights: 6 });
    expect(s.rm.parcels.byId[h]!.state).toBe("SHARED");
    expect(reclaim(s, h).err).toBe("MEM_INUSE");
    expect(release(s, g, h).err).toBe("OK");
    expect(translate(s, g, G)).toBeNull();
    expect(s.rm.parcels.byId[h]!.state).toBe("SHARING");
    expect(reclaim(s, h).err).toBe("OK");
    expect(translate(s, H, A)).toEqual({ pa: A, rights: 7 });
    expect(ownerOf(s, A)).toBe("vm:3");
    // Not sanitised: the owner sees its own data again.
    expect(labelOf(s, A)).toBe("vm3");
    expect(s.rm.parcels.ids).toEqual(imageParcels);
  });

  it("a sanitised lend is zeroed at create, and a release with SANITIZE zeroes it before the owner gets it back", () => {
    const { s, g } = withGuests();
    const h = u32At(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 1).data);
    expect(labelOf(s, A)).toBe("zero");
    accept(s, g, h, 1);
    writePhys(s, A, new Uint8Array([9]), `vm${g}`);
    release(s, g, h, 1);
    reclaim(s, h);
    expect(labelOf(s, A)).toBe("zero");
  });

  it("create errors", () => {
    const { s, g } = withGuests();
    expect(create(s, "MEM_LEND", []).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 0, []).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }, { vmid: g, rights: 4 }]).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: 0x99, rights: 6 }]).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 2 }]).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: H, rights: 7 }]).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 0, [{ ipa: A + 1, size: SIZE }]).err).toBe("ARGUMENT_INVALID");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 0, [{ ipa: 0x10_0000, size: SIZE }]).err).toBe("MEM_INVALID");
    expect(call(s, H, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: g, rights: 6 }], sgl: [{ ipa: A, size: SIZE }], attrs: [{ attr: 0, vmid: 0x81 + 5 }] })).err).toBe("VMID_INVALID");
    expect(call(s, H, "MEM_LEND", new Uint8Array(6)).err).toBe("MSG_INVALID");
    // Lending it twice: the second finds the memory no longer the host's.
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }]).err).toBe("OK");
    expect(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }]).err).toBe("MEM_INVALID");
    expect(translate(s, H, A)).toBeNull();
  });
});

describe("MEM_ACCEPT errors", () => {
  it("each rule gives the RM's code and changes nothing", () => {
    const { s, g, g2 } = withGuests();
    const h = u32At(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 0, undefined, 42).data);
    expect(accept(s, g, 999, 1).err).toBe("HANDLE_INVALID");
    // The owner is not in a lend's ACL: VMID_INVALID like any outsider (RM:src/memparcel/memparcel.c:1326-1330).
    expect(accept(s, H, h, 1).err).toBe("VMID_INVALID");
    expect(accept(s, g2, h, 1).err).toBe("VMID_INVALID");
    expect(accept(s, g, h, 2).err).toBe("ARGUMENT_INVALID");
    expect(accept(s, g, h, 1, DONE | 0x8).err).toBe("DENIED");
    expect(accept(s, g, h, 1, DONE | 0x1).err).toBe("VALIDATE_FAILED");
    expect(accept(s, g, h, 1, DONE | 0x4, undefined, { label: 41 }).err).toBe("VALIDATE_FAILED");
    expect(accept(s, g, h, 1, DONE | 0x2, undefined, { acl: [{ vmid: g, rights: 4 }] }).err).toBe("VALIDATE_FAILED");
    expect(accept(s, g, h, 1, DONE, [{ ipa: G, size: 0x1000 }]).err).toBe("ARGUMENT_INVALID");
    expect(accept(s, g, h, 1, DONE, undefined, { mapVmid: 3 }).err).toBe("ARGUMENT_INVALID");
    expect(translate(s, g, G)).toBeNull();
    expect(accept(s, g, h, 1, DONE | 0x2 | 0x4, undefined, { acl: [{ vmid: g, rights: 6 }], label: 42 }).err).toBe("OK");
    expect(accept(s, g, h, 1).err).toBe("DENIED");
  });

  it("with an empty SGL the RM picks the IPAs and replies with them", () => {
    const { s, g } = withGuests();
    const h = u32At(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }]).data);
    const r = accept(s, g, h, 1, DONE, []);
    // First fit above the device range and the info area page (RM:platform/qemu/src/vm_memory.c:406-518).
    expect(P.decodeAcceptSgl(r.data)).toEqual([{ ipa: 0x4000_1000, size: SIZE }]);
    expect(translate(s, g, 0x4000_1000)).toEqual({ pa: A, rights: 6 });
  });
});

describe("MEM_SHARE", () => {
  it("the owner keeps access; both reach the page after accept; release/reclaim errors", () => {
    const { s, g, g2 } = withGuests();
    expect(create(s, "MEM_SHARE", [{ vmid: g, rights: 6 }]).err).toBe("ARGUMENT_INVALID"); // owner must be listed
    const h = u32At(create(s, "MEM_SHARE", [{ vmid: H, rights: 7 }, { vmid: g, rights: 6 }]).data);
    expect(translate(s, H, A)).toEqual({ pa: A, rights: 7 });
    accept(s, g, h, 2);
    expect(translate(s, g, G)).toEqual({ pa: A, rights: 6 });
    expect(translate(s, H, A)).toEqual({ pa: A, rights: 7 });
    expect(release(s, H, h).err).toBe("DENIED");
    // Not in the ACL: HANDLE_INVALID (RM:src/memparcel/memparcel.c:1706-1710).
    expect(release(s, g2, h).err).toBe("HANDLE_INVALID");
    expect(call(s, g, "MEM_RECLAIM", P.encodeMemHandle({ handle: h, flags: 0 })).err).toBe("DENIED");
    expect(release(s, g, h).err).toBe("OK");
    expect(release(s, g, h).err).toBe("MEM_RELEASED");
    expect(reclaim(s, h).err).toBe("OK");
    expect(reclaim(s, h).err).toBe("HANDLE_INVALID");
    expect(translate(s, H, A)).toEqual({ pa: A, rights: 7 });
  });
});

describe("MEM_DONATE", () => {
  it("ownership moves to the borrower at accept and the parcel disappears", () => {
    const { s, g } = withGuests();
    expect(create(s, "MEM_DONATE", [{ vmid: g, rights: 6 }]).err).toBe("DENIED"); // full rights only (RM:src/memparcel/memparcel.c:704-709)
    const h = u32At(create(s, "MEM_DONATE", [{ vmid: g, rights: 7 }]).data);
    expect(translate(s, H, A)).toBeNull();
    accept(s, g, h, 0);
    expect(ownerOf(s, A)).toBe(`vm:${g}`);
    expect(translate(s, g, G)).toEqual({ pa: A, rights: 7 });
    expect(s.rm.parcels.ids).toEqual(imageParcels);
    expect(reclaim(s, h).err).toBe("HANDLE_INVALID");
  });
});

describe("MEM_NOTIFY", () => {
  it("SHARED goes to listed borrowers with sizes only; ACCEPTED/RELEASED must match the borrower's state", () => {
    const { s, g, g2 } = withGuests();
    const h = u32At(create(s, "MEM_LEND", [{ vmid: g, rights: 6 }], 0, undefined, 7).data);
    const n = call(s, H, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 1, memInfoTag: 0x55, vmids: [g] }));
    expect(n.notify.map((x) => [x.to, x.msg])).toEqual([[g, "MEM_SHARED"]]);
    expect(P.decodeMemShared(n.notify[0]!.data)).toMatchObject({ handle: h, transType: 1, owner: H, label: 7, memInfoTag: 0x55, sizes: [SIZE] });
    expect(call(s, H, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 1, memInfoTag: 0x55, vmids: [g2] })).err).toBe("ARGUMENT_INVALID"); // known VM, not in the ACL (RM:src/memparcel/memparcel.c:1956-1960)
    expect(call(s, H, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 1, memInfoTag: 0x55, vmids: [0x99] })).err).toBe("VMID_INVALID"); // :1950-1954
    expect(call(s, H, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 1, memInfoTag: 0x56, vmids: [g] })).err).toBe("ARGUMENT_INVALID");
    expect(call(s, H, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 3, memInfoTag: 0x55, vmids: [] })).err).toBe("ARGUMENT_INVALID");
    expect(call(s, g, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 4, memInfoTag: 0x55, vmids: [] })).err).toBe("MEM_RELEASED");
    accept(s, g, h, 1);
    const acc = call(s, g, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 4, memInfoTag: 0x55, vmids: [] }));
    expect(acc.notify.map((x) => [x.to, x.msg])).toEqual([[H, "MEM_ACCEPTED"]]);
    expect(P.decodeMemOwnerNotif(acc.notify[0]!.data)).toEqual({ handle: h, vmid: g, memInfoTag: 0x55 });
    expect(call(s, g, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 2, memInfoTag: 0x55, vmids: [] })).err).toBe("MEM_INUSE");
    expect(call(s, g, "MEM_NOTIFY", P.encodeMemNotify({ handle: h, flags: 1, memInfoTag: 0x55, vmids: [g] })).err).toBe("DENIED");
  });
});
