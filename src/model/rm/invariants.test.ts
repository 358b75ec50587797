import { describe, expect, it } from "vitest";
import { VMID } from "../abi/rm.ts";
import * as P from "./payloads.ts";
import { call, freshState, readyVm, u32At } from "./testkit.ts";
import { rmInvariants } from "./invariants.ts";
import { addMapping } from "../memory/memextent.ts";
import { memdbUpdate } from "../memory/memdb.ts";
import { objectAs } from "../object/objects.ts";
import { onVmHalt } from "./lifecycle.ts";

const inv = (name: string) => rmInvariants.find((i) => i.name === name)!;
const H = VMID.HLOS;

function lentAndAccepted() {
  const s = freshState();
  const g = readyVm(s).vmid;
  call(s, H, "VM_START", P.encodeVmid(g));
  const h = u32At(call(s, H, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: g, rights: 6 }], sgl: [{ ipa: 0x9800_0000, size: 0x1000 }], attrs: [] })).data);
  call(s, g, "MEM_ACCEPT", P.encodeMemAccept({ handle: h, memType: 0, transType: 1, flags: 0x80, label: 0, acl: [], sgl: [{ ipa: 0x5000_0000, size: 0x1000 }], mapVmid: 0, attrs: [] }));
  for (const i of rmInvariants) expect(i.check(s)).toBeNull();
  return { s, g, h };
}

describe("RM invariants", () => {
  it("rm.vm_state_edges: a VM that jumped LOAD -> RUNNING breaks it", () => {
    const s = freshState();
    const vmid = u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data);
    expect(inv("rm.vm_state_edges").check(s)).toBeNull();
    s.rm.vms.byId[vmid]!.status = "RUNNING";
    expect(inv("rm.vm_state_edges").check(s)).toEqual({ path: `rm.vms.byId.${vmid}.status`, detail: `VM ${vmid} moved NONE -> RUNNING, not an RM edge`, objects: { vm: vmid } });
  });

  it("rm.parcel_accounting: a lend whose owner kept its mapping breaks it", () => {
    const { s, h } = lentAndAccepted();
    // The parcel's extent mapped back into the owner's stage-2 at the lent IPA.
    const me = objectAs(s, s.rm.parcels.byId[h]!.memextent, "memextent")!;
    expect(addMapping(s, me, s.vms[H]!.addrspace, { vbase: 0x9800_0000, offset: 0x9800_0000 - me.base, size: 0x1000, userAccess: 7, kernelAccess: 7, memtype: 15 })).toBeNull();
    expect(inv("rm.parcel_accounting").check(s)).toMatchObject({ path: `rm.parcels.byId.${h}.regions`, objects: { handle: h, vm: H, pa: 0x9800_0000 } });
  });

  it("rm.parcel_accounting: a SHARED parcel with nobody accepted, or pages owned by someone else, break it", () => {
    const a = lentAndAccepted();
    a.s.rm.parcels.byId[a.h]!.borrowers[0]!.accepted = false;
    expect(inv("rm.parcel_accounting").check(a.s)).toMatchObject({ path: `rm.parcels.byId.${a.h}.state` });
    const b = lentAndAccepted();
    const p = b.s.rm.parcels.byId[b.h]!;
    // The pages handed back to the host's extent behind the parcel's back (memdb only).
    expect(memdbUpdate(b.s, 0x9800_0000, 0x1000, { type: "EXTENT", id: p.source }, { type: "EXTENT", id: p.memextent }).ok).toBe(true);
    expect(inv("rm.parcel_accounting").check(b.s)).toMatchObject({ path: `rm.parcels.byId.${b.h}.regions` });
  });

  it("rm.borrower_loses_released_pages: a release that left the mapping breaks it", () => {
    const { s, g, h } = lentAndAccepted();
    s.rm.parcels.byId[h]!.borrowers[0]!.accepted = false;
    s.rm.parcels.byId[h]!.state = "SHARING";
    expect(inv("rm.borrower_loses_released_pages").check(s)).toEqual({
      path: `objects.byId.${s.vms[g]!.addrspace}.s2`,
      detail: `VM ${g} reaches PA 0x98000000 of parcel ${h} without having it accepted`,
      objects: { vm: g, pa: 0x9800_0000, handle: h },
    });
  });
});

describe("shutdown, crash and watchdog exits", () => {
  // exit_flags 0 and exit code NORMAL without a crash message for every cause; no RESTART flag, no
  // made-up code for a fault (RM:src/vm_mgnt/vm_mgnt.c:2053-2093 watchdog, :2096-2183 vCPU halt).
  it.each([
    ["PSCI_SYSTEM_OFF", 1, [0]],
    ["PSCI_SYSTEM_RESET", 2, [0]],
    ["VCPU_FAULT", 5, [0]],
    ["WATCHDOG_BITE", 4, [0]],
  ] as const)("%s gives exit type %d and reason %j", (cause, type, reason) => {
    const s = freshState();
    const { vmid } = readyVm(s);
    call(s, H, "VM_START", P.encodeVmid(vmid));
    const notes: { to: number; msg: string; payload: Uint8Array }[] = [];
    expect(onVmHalt({ s, caller: 0, notes: notes as never }, s.rm.vms.byId[vmid]!, cause)).toBe(true);
    expect(notes.map((n) => n.msg)).toEqual(["NOTIFY_VM_STATUS", "NOTIFY_VM_EXITED"]);
    expect(P.decodeVmExited(notes[1]!.payload)).toEqual({ vmid, exitType: type, reason: [...reason] });
  });

  it("a watchdog bite after a crash message reports SOFTWARE_ERROR; a guest panic exits through VM_EXIT", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    call(s, H, "VM_START", P.encodeVmid(vmid));
    expect(call(s, vmid, "VM_SET_CRASH_MSG", Uint8Array.of(5, 0, 0, 0, 0x6f, 0x6f, 0x70, 0x73, 0x21, 0, 0, 0)).err).toBe("OK");
    const notes: never[] = [];
    onVmHalt({ s, caller: 0, notes }, s.rm.vms.byId[vmid]!, "WATCHDOG_BITE");
    expect(s.rm.vms.byId[vmid]!.exit).toEqual({ type: 4, reason: [0x1_0000] });
    const s2 = freshState();
    const v2 = readyVm(s2).vmid;
    call(s2, H, "VM_START", P.encodeVmid(v2));
    const panic = call(s2, v2, "VM_EXIT", P.encodeVmExit({ exitFlags: 0, exitCode: 1, res0: 0 }));
    expect(P.decodeVmExited(panic.notify[1]!.data)).toEqual({ vmid: v2, exitType: 0, reason: [0x1_0000] });
  });
});
