import { describe, expect, it } from "vitest";
import { VMID } from "../abi/rm.ts";
import * as P from "./payloads.ts";
import { call, freshState, readyVm, u32At, GUEST_BASE, HOST_IMAGE } from "./testkit.ts";
import { reach as translate } from "./testkit.ts";

const H = VMID.HLOS;
const names = (o: { notify: readonly { msg: string }[] }) => o.notify.map((n) => n.msg);

describe("VM lifecycle", () => {
  it("allocates dynamic VMIDs lowest first and replies with them", () => {
    const s = freshState();
    expect(u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data)).toBe(0x80);
    expect(u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data)).toBe(0x81);
    expect(s.rm.vms.byId[0x80]!.status).toBe("LOAD");
    // A static VMID gets an empty reply; a taken one NORESOURCE; only the HLOS may allocate.
    expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(5))).toMatchObject({ err: "OK", data: new Uint8Array(0) });
    expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(5)).err).toBe("NORESOURCE");
    expect(call(s, H, "VM_ALLOCATE", P.encodeVmid(0x90)).err).toBe("NORESOURCE");
    expect(call(s, H, "VM_ALLOCATE", new Uint8Array(3)).err).toBe("MSG_INVALID");
    // A guest can talk to the RM once VM_INIT gave it its rm-rpc channel; it may not allocate.
    const { vmid: guest } = readyVm(s);
    expect(call(s, guest, "VM_ALLOCATE", P.encodeVmid(0)).err).toBe("DENIED");
  });

  it("goes LOAD -> INIT -> READY -> RUNNING with a VM_STATUS to the owner at each step", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    expect(s.rm.vms.byId[vmid]!.status).toBe("READY");
    const start = call(s, H, "VM_START", P.encodeVmid(vmid));
    expect(start.err).toBe("OK");
    expect(names(start)).toEqual(["NOTIFY_VM_STATUS"]);
    expect(P.decodeVmStatus(start.notify[0]!.data)).toEqual({ vmid, vmStatus: 3, osStatus: 0, appStatus: 0 });
    const vm = s.rm.vms.byId[vmid]!;
    expect(vm.status).toBe("RUNNING");
    expect(vm.vcpus.byId[0]).toEqual({ power: "on", pc: GUEST_BASE, x0: GUEST_BASE + 0x1000 });
    expect(vm.vcpus.byId[1]!.power).toBe("off");
    // The image parcel is now mapped in the guest at base-address and gone from the host.
    expect(translate(s, vmid, GUEST_BASE)).toEqual({ pa: HOST_IMAGE, rights: 7 });
    expect(translate(s, H, HOST_IMAGE)).toBeNull();
  });

  it("answers each request in the wrong state with VM_STATE, and non-owners as the RM does", () => {
    const s = freshState();
    const vmid = u32At(call(s, H, "VM_ALLOCATE", P.encodeVmid(0)).data);
    expect(call(s, H, "VM_INIT", P.encodeVmid(vmid)).err).toBe("VM_STATE");
    expect(call(s, H, "VM_START", P.encodeVmid(vmid)).err).toBe("VM_STATE");
    expect(call(s, H, "VM_STOP", P.encodeVmStop({ vmid, flags: 1, stopReason: 0 })).err).toBe("VM_STATE");
    expect(call(s, H, "VM_RESET", P.encodeVmid(vmid)).err).toBe("VM_STATE");
    expect(call(s, H, "VM_START", P.encodeVmid(0x99)).err).toBe("VMID_INVALID");
    // Non-owner (another VM, once it has its RM channel): START and DEALLOCATE say DENIED, STOP and
    // RESET VMID_INVALID (reference §11.5).
    const { vmid: other } = readyVm(s);
    expect(call(s, other, "VM_START", P.encodeVmid(vmid)).err).toBe("DENIED");
    expect(call(s, other, "VM_DEALLOCATE", P.encodeVmid(vmid)).err).toBe("DENIED");
    expect(call(s, other, "VM_STOP", P.encodeVmStop({ vmid, flags: 1, stopReason: 0 })).err).toBe("VMID_INVALID");
    expect(call(s, other, "VM_RESET", P.encodeVmid(vmid)).err).toBe("VMID_INVALID");
    expect(call(s, other, "VM_EXIT", P.encodeVmExit({ exitFlags: 0, exitCode: 0, res0: 0 })).err).toBe("VM_STATE"); // READY
    expect(call(s, H, "VM_CONFIG_IMAGE", P.encodeVmConfigImage({ vmid, authType: 0, imageHandle: 77, imageOffset: 0, imageSize: 0, dtOffset: 0, dtSize: 0x10 })).err).toBe("MEM_INVALID");
    expect(s.rm.vms.byId[vmid]!.status).toBe("INIT_FAILED");
    expect(call(s, H, "VM_DEALLOCATE", P.encodeVmid(vmid)).err).toBe("VM_STATE");
  });

  it("an unknown message ID gets UNIMPLEMENTED; a malformed DT fails VM_INIT", () => {
    const s = freshState();
    expect(call(s, H, "VM_SUSPEND").err).toBe("UNIMPLEMENTED");
    const { vmid } = readyVm(s, { baseAddress: 0x123, vcpus: 1, memory: [], bells: [], vmAttrs: [] });
    expect(s.rm.vms.byId[vmid]!.status).toBe("INIT_FAILED");
  });

  it("VM_STOP force exits with VM_STOP_FORCED; non-force sends NOTIFY_VM_SHUTDOWN to the guest", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    call(s, H, "VM_START", P.encodeVmid(vmid));
    const soft = call(s, H, "VM_STOP", P.encodeVmStop({ vmid, flags: 0, stopReason: 7 }));
    expect(soft.notify).toEqual([{ to: vmid, msg: "NOTIFY_VM_SHUTDOWN", data: new Uint8Array([7, 0, 0, 0]) }]);
    expect(s.rm.vms.byId[vmid]!.status).toBe("RUNNING");
    const hard = call(s, H, "VM_STOP", P.encodeVmStop({ vmid, flags: 1, stopReason: 3 }));
    expect(names(hard)).toEqual(["NOTIFY_VM_STATUS", "NOTIFY_VM_EXITED"]);
    expect(P.decodeVmExited(hard.notify[1]!.data)).toEqual({ vmid, exitType: 7, reason: [0] });
  });

  it("VM_EXIT validates exit_code and res0; reset releases the image parcel with MEM_RELEASED", () => {
    const s = freshState();
    const { vmid, image } = readyVm(s);
    call(s, H, "VM_START", P.encodeVmid(vmid));
    expect(call(s, vmid, "VM_EXIT", P.encodeVmExit({ exitFlags: 0, exitCode: 2, res0: 0 })).err).toBe("MSG_INVALID");
    expect(call(s, vmid, "VM_EXIT", P.encodeVmExit({ exitFlags: 0, exitCode: 0, res0: 1 })).err).toBe("MSG_INVALID");
    const exit = call(s, vmid, "VM_EXIT", P.encodeVmExit({ exitFlags: 1, exitCode: 1, res0: 0 }));
    expect(P.decodeVmExited(exit.notify[1]!.data)).toEqual({ vmid, exitType: 0, reason: [0x0001_0001] });
    expect(call(s, H, "MEM_RECLAIM", P.encodeMemHandle({ handle: image, flags: 0 })).err).toBe("MEM_INUSE");
    const reset = call(s, H, "VM_RESET", P.encodeVmid(vmid));
    expect(names(reset)).toEqual(["NOTIFY_VM_STATUS", "MEM_RELEASED", "NOTIFY_VM_STATUS"]);
    expect(s.rm.vms.byId[vmid]!.status).toBe("RESET");
    expect(translate(s, vmid, GUEST_BASE)).toBeNull();
    expect(call(s, H, "MEM_RECLAIM", P.encodeMemHandle({ handle: image, flags: 0 })).err).toBe("OK");
    expect(translate(s, H, HOST_IMAGE)).toEqual({ pa: HOST_IMAGE, rights: 7 });
    expect(call(s, H, "VM_DEALLOCATE", P.encodeVmid(vmid)).err).toBe("OK");
    expect(s.rm.vms.ids).toEqual([]);
  });

  it("no-reset and no-shutdown VMs refuse what the RM refuses; a crash-fatal config needs a trusted config (RM:src/vm_config/vm_config.c:4229-4233)", () => {
    const s = freshState();
    const { vmid } = readyVm(s, { baseAddress: GUEST_BASE, vcpus: 1, memory: [], bells: [], vmAttrs: ["no-reset", "no-shutdown"] });
    call(s, H, "VM_START", P.encodeVmid(vmid));
    expect(call(s, H, "VM_STOP", P.encodeVmStop({ vmid, flags: 1, stopReason: 0 })).err).toBe("VM_STATE");
    expect(call(s, vmid, "VM_EXIT", P.encodeVmExit({ exitFlags: 0, exitCode: 0, res0: 0 })).err).toBe("OK"); // a self-requested exit is allowed
    expect(call(s, H, "VM_RESET", P.encodeVmid(vmid)).err).toBe("DENIED");
    const s2 = freshState();
    const fatal = readyVm(s2, { baseAddress: GUEST_BASE, vcpus: 1, memory: [], bells: [], vmAttrs: ["crash-fatal"] });
    expect(s2.rm.vms.byId[fatal.vmid]!.status).toBe("INIT_FAILED");
  });
});
