/**
 * What the swarm's hostile host found (issue #16): calls a host may make in orders crosvm never
 * does, each answered as the RM answers it instead of an internal error or a false alarm.
 */
import { describe, expect, it } from "vitest";
import { VMID } from "../abi/rm.ts";
import { writePhys } from "./content.ts";
import { rmInvariants } from "./invariants.ts";
import * as P from "./payloads.ts";
import { encodeVmConfigBlob } from "./vmconfig.ts";
import { call, freshState, GUEST_BASE, HOST_IMAGE, IMAGE_SIZE, readyVm, u32At, type TestState } from "./testkit.ts";
import { mutableCopy } from "../../core/reducer.ts";
import { DEFAULT_PLATFORM, hvModel } from "../machine.ts";
import type { HypEvent } from "../events.ts";
import { vmmVmByVmid } from "../vmm/state.ts";
import { newPvm } from "../protected/state.ts";
import { toHex } from "../pvmfw/avb-format.ts";
import { fixture } from "../../../test/fixtures/avb/fixtures.ts";

const H = VMID.HLOS;
const allocate = (s: TestState): number => u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data);
const rmVirqOf = (s: TestState, vmid: number): number => {
  const q = s.objects.byId[s.rm.hv!.vms[vmid]!.channel!.c2r] as unknown as { receiveVirq: { virq: number } };
  return q.receiveVirq.virq;
};

describe("the RM under a hostile host", () => {
  it("VM_ALLOCATE by number takes only the platform's secondary VMIDs 4..31, never the HLOS's (was: the HLOS overwritten)", () => {
    const s = freshState();
    for (const vmid of [1, 2, VMID.HLOS, 32, 63]) expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(vmid)).err).toBe("NORESOURCE");
    expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(4)).err).toBe("OK");
    expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(31)).err).toBe("OK");
    expect(call(s, H, "VM_DEALLOCATE", P.encodeVmid(H)).err).toBe("VMID_INVALID");
    expect(call(s, H, "VM_GET_VMID")).toMatchObject({ err: "OK", data: P.encodeU32s(H) });
  });

  it("VM_AUTH_IMAGE moves a PLATFORM-auth VM from AUTH to INIT (was: unimplemented, the VM stuck in AUTH)", () => {
    const s = freshState();
    const vmid = allocate(s);
    writePhys(s, HOST_IMAGE + 0x1000, encodeVmConfigBlob({ baseAddress: GUEST_BASE, vcpus: 1, memory: [], bells: [], vmAttrs: [] }), `vm${H}`);
    const image = u32At(call(s, H, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid, rights: 7 }], sgl: [{ ipa: HOST_IMAGE, size: IMAGE_SIZE }], attrs: [] })).data);
    expect(call(s, H, "VM_AUTH_IMAGE", P.encodeU32s(vmid)).err).toBe("VM_STATE");
    call(s, H, "VM_CONFIG_IMAGE", P.encodeVmConfigImage({ vmid, authType: 1, imageHandle: image, imageOffset: 0, imageSize: 0x1000, dtOffset: 0x1000, dtSize: 0x1000 }));
    expect(s.rm.vms.byId[vmid]!.status).toBe("AUTH");
    expect(call(s, H, "VM_AUTH_IMAGE", new Uint8Array([vmid, 0, 1, 0])).err).toBe("MSG_INVALID"); // one parameter announced, none sent
    const ok = call(s, H, "VM_AUTH_IMAGE", P.encodeU32s(vmid));
    expect(ok.err).toBe("OK");
    expect(ok.notify.map((n) => n.msg)).toEqual(["NOTIFY_VM_STATUS"]);
    expect(s.rm.vms.byId[vmid]!.status).toBe("INIT");
    expect(call(s, H, "VM_INIT", P.encodeVmid(vmid)).err).toBe("OK");
  });

  it("VM_START accepts one parcel per labelled memory node, the first (was: a second one mapped over it)", () => {
    const s = freshState();
    const shm = 0x8100_0000;
    const { vmid } = readyVm(s, { baseAddress: GUEST_BASE, vcpus: 1, memory: [{ label: 1, base: shm }], bells: [], vmAttrs: [] });
    const lend = (host: number) => u32At(call(s, H, "MEM_SHARE", P.encodeMemCreate({ memType: 0, flags: 0, label: 1, acl: [{ vmid, rights: 6 }, { vmid: H, rights: 7 }], sgl: [{ ipa: host, size: 0x4000 }], attrs: [] })).data);
    const first = lend(0x9400_0000);
    const second = lend(0x9500_0000);
    expect(call(s, H, "VM_START", P.encodeVmid(vmid)).err).toBe("OK");
    expect(s.rm.parcels.byId[first]!.borrowers.find((b) => b.vmid === vmid)!.accepted).toBe(true);
    expect(s.rm.parcels.byId[second]!.borrowers.find((b) => b.vmid === vmid)!.accepted).toBe(false);
    for (const inv of rmInvariants) expect([inv.name, inv.check(s)]).toEqual([inv.name, null]);
  });

  it("VM_START accepts a protected VM's firmware parcel by its handle, before a parcel lent earlier with its label", () => {
    const s = freshState();
    const fwIpa = 0x7fc0_0000;
    const { vmid } = readyVm(s, { baseAddress: GUEST_BASE, vcpus: 1, memory: [{ label: 2, base: fwIpa }], bells: [], vmAttrs: [] });
    const lend = (host: number) => u32At(call(s, H, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 2, acl: [{ vmid, rights: 7 }], sgl: [{ ipa: host, size: 0x4000 }], attrs: [] })).data);
    const intruder = lend(0x9400_0000);
    const firmware = lend(0x9500_0000);
    s.pvm.vms.ids.push(vmid);
    s.pvm.vms.byId[vmid] = { ...newPvm(vmid), fw: { handle: firmware, offset: 0, size: 0x4000, ipa: 0 } };
    expect(call(s, H, "VM_START", P.encodeVmid(vmid)).err).toBe("OK");
    expect(s.rm.parcels.byId[firmware]!.borrowers[0]!.accepted).toBe(true);
    expect(s.rm.parcels.byId[intruder]!.borrowers[0]!.accepted).toBe(false);
  });
});

describe("the VMM and the protected room when a VMID is reused", () => {
  const config = { platform: DEFAULT_PLATFORM, protected: { uds: "22".repeat(32), trustedKey: toHex(fixture("pvmfw_key_rsa2048.avbpubkey")) } };
  const apply = (s: ReturnType<typeof hvModel.genesis>, ev: Omit<HypEvent, "seq" | "t">) => hvModel.apply(s, { ...ev, seq: s.seq + 1, t: s.t + 1000 } as HypEvent);

  it("names the newest VM fd holding a VMID, and forgets the earlier VM's protected record but its private memory", () => {
    const s = mutableCopy(hvModel.genesis(config));
    const a = apply(s, { kind: "vmm_ioctl", op: "CREATE_VM" } as never) as { ret: number; vmid: number };
    // The earlier VM booted a payload; a hostile host then deallocates its VMID under crosvm.
    s.pvm.vms.ids.push(a.vmid);
    s.pvm.vms.byId[a.vmid] = { ...newPvm(a.vmid), stage: "payload", fwConfig: { gpa: 0x7fc0_0000, size: 0x40_0000 }, privatePa: [{ base: 0x9000_0000, size: 0x1000 }] };
    expect(apply(s, { kind: "rm_request", vm: H, msgId: 0x56000002, rpcSeq: 9, payload: P.encodeVmid(a.vmid) } as never)).toMatchObject({ err: "OK" });
    const b = apply(s, { kind: "vmm_ioctl", op: "CREATE_VM" } as never) as { ret: number; vmid: number };
    expect(b.vmid).toBe(a.vmid);
    expect(vmmVmByVmid(s, a.vmid)!.fd).toBe(b.ret);
    expect(s.pvm.vms.byId[b.vmid]).toEqual({ ...newPvm(b.vmid), privatePa: [{ base: 0x9000_0000, size: 0x1000 }] });
    for (const inv of hvModel.invariants) expect([inv.name, inv.check(s)]).toEqual([inv.name, null]);
  });
});
