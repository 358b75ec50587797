import { describe, expect, it } from "vitest";
import { reduce } from "../../core/reducer.ts";
import { hvModel, DEFAULT_PLATFORM, type Machine } from "../machine.ts";
import type { HypEvent } from "../events.ts";
import { MEM_RIGHTS, VMID, rmMessageId } from "../abi/rm.ts";
import { encodeMemCreate, encodeVmConfigImage, encodeVmid } from "../rm/payloads.ts";
import { encodeFwSetVmFirmware, encodeVmSetFirmwareMem } from "../rm/protected.ts";
import { toHex } from "../pvmfw/avb-format.ts";
import { mutableCopy } from "../../core/reducer.ts";
import { call, readyVm, u32At } from "../rm/testkit.ts";
import { fixture } from "../../../test/fixtures/avb/fixtures.ts";

const config = { platform: DEFAULT_PLATFORM, protected: { uds: "22".repeat(32), trustedKey: toHex(fixture("pvmfw_key_rsa2048.avbpubkey")) } };

function step(s: Machine, p: Omit<HypEvent, "seq" | "t">): [Machine, Record<string, unknown>] {
  return reduce(hvModel, s, { ...p, seq: s.seq + 1, t: s.t + 1000 } as HypEvent) as [Machine, Record<string, unknown>];
}
/** The protected platform with a READY VM 0x80 (plain auth) whose image parcel is handle 1. */
function withReadyVm(): Machine {
  const s = mutableCopy(hvModel.genesis(config));
  expect(readyVm(s).vmid).toBe(0x80);
  return s;
}
const rm = (vm: number, msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array) => ({ kind: "rm_request", vm, msgId: rmMessageId(msg), rpcSeq: 1, payload }) as never;
const donate = (ipa: number) => encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: VMID.RM, rights: MEM_RIGHTS.RWX }], sgl: [{ ipa, size: 0x10_0000 }], attrs: [] });

describe("RM: pvmfw registration and the firmware region (RM:src/vm_firmware/vm_firmware.c)", () => {
  it("FW_SET_VM_FIRMWARE: HLOS only, offset 0, a donation to the RM, once; FW_MILESTONE closes it", () => {
    // A READY VM 0x80 to call from: a VM has its RM channel only from VM_INIT.
    let s = withReadyVm();
    let o: Record<string, unknown>;
    [s, o] = step(s, rm(VMID.HLOS, "MEM_DONATE", donate(0x9f00_0000)));
    const handle = new DataView((o.data as Uint8Array).buffer, (o.data as Uint8Array).byteOffset).getUint32(0, true);
    const fw = (offset: number) => encodeFwSetVmFirmware({ authType: 2, handle, offset, size: 0x10_0000 });
    expect(step(s, rm(0x80, "FW_SET_VM_FIRMWARE", fw(0)))[1].err).toBe("DENIED");
    expect(step(s, rm(VMID.HLOS, "FW_SET_VM_FIRMWARE", fw(0x1000)))[1].err).toBe("ARGUMENT_INVALID");
    expect(step(s, rm(VMID.HLOS, "FW_SET_VM_FIRMWARE", encodeFwSetVmFirmware({ authType: 1, handle, offset: 0, size: 0x1000 })))[1].err).toBe("ARGUMENT_INVALID");
    [s, o] = step(s, rm(VMID.HLOS, "FW_SET_VM_FIRMWARE", fw(0)));
    expect(o.err).toBe("OK");
    expect(s.pvm.firmware).toEqual({ handle, size: 0x10_0000 });
    expect(s.rm.parcels.byId[handle]).toBeUndefined(); // accepted by the RM itself
    expect(step(s, rm(VMID.HLOS, "FW_SET_VM_FIRMWARE", fw(0)))[1].err).toBe("BUSY");
    [s, o] = step(s, rm(VMID.HLOS, "FW_MILESTONE", new Uint8Array(0)));
    expect([o.err, s.pvm.milestone]).toEqual(["OK", true]);
    expect(step(s, rm(VMID.HLOS, "FW_SET_VM_FIRMWARE", fw(0)))[1].err).toBe("DENIED");
  });

  it("VM_SET_FIRMWARE_MEM needs a VM in INIT with auth ANDROID and a registered image", () => {
    let s = withReadyVm();
    [s] = step(s, rm(VMID.HLOS, "VM_ALLOCATE", encodeVmid(0)));
    const req = encodeVmSetFirmwareMem({ vmid: 0x81, handle: 1, offset: 0, size: 0x1000 });
    // RM:src/vm_mgnt/vm_mgnt.c:1718-1760: size, res0 (MSG_INVALID), target (NORESOURCE), query
    // allowed (DENIED), INIT (VM_STATE); errors carry hvc_err ARGUMENT_INVALID as a data word.
    expect(step(s, rm(VMID.HLOS, "VM_SET_FIRMWARE_MEM", req))[1].err).toBe("VM_STATE"); // still LOAD
    expect(step(s, rm(0x80, "VM_SET_FIRMWARE_MEM", req))[1].err).toBe("DENIED"); // neither itself, its owner nor a peer
    expect(step(s, rm(VMID.HLOS, "VM_SET_FIRMWARE_MEM", encodeVmSetFirmwareMem({ vmid: 0x99, handle: 1, offset: 0, size: 0x1000 })))[1].err).toBe("NORESOURCE");
    expect(step(s, rm(VMID.HLOS, "VM_SET_FIRMWARE_MEM", new Uint8Array(8)))[1].err).toBe("MSG_INVALID");
  });
});

describe("RM: VM_SET_FIRMWARE_MEM's own errors (RM:src/vm_firmware/vm_firmware.c:303-339, vm_mgnt.c:1718-1760)", () => {
  it("no firmware for the auth type ARGUMENT_INVALID, none registered DENIED, a parcel not naming the VM MEM_INVALID, a range past it ARGUMENT_INVALID; each error carries hvc_err 1", () => {
    const s = mutableCopy(hvModel.genesis(config));
    const inInit = (authType: number, host: number): number => {
      const vmid = u32At(call(s, VMID.HLOS, "VM_ALLOCATE", encodeVmid(0)).data);
      const img = u32At(call(s, VMID.HLOS, "MEM_LEND", encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid, rights: 7 }], sgl: [{ ipa: host, size: 0x10_0000 }], attrs: [] })).data);
      expect(call(s, VMID.HLOS, "VM_CONFIG_IMAGE", encodeVmConfigImage({ vmid, authType, imageHandle: img, imageOffset: 0, imageSize: 0x1000, dtOffset: 0x1000, dtSize: 0x1000 })).err).toBe("OK");
      return img;
    };
    const plain = inInit(0, 0x9000_0000); // VM 0x80, auth NONE
    const pvm = inInit(2, 0x9100_0000); // VM 0x81, auth ANDROID
    const set = (vmid: number, handle: number, size = 0x1000) => call(s, VMID.HLOS, "VM_SET_FIRMWARE_MEM", encodeVmSetFirmwareMem({ vmid, handle, offset: 0, size }));
    expect(set(0x80, plain)).toMatchObject({ err: "ARGUMENT_INVALID", data: Uint8Array.of(1, 0, 0, 0) }); // vm_firmware_lookup: none for NONE (:308-313)
    expect(set(0x81, pvm).err).toBe("DENIED"); // no pvmfw registered yet (:315-319)
    const fw = u32At(call(s, VMID.HLOS, "MEM_DONATE", donate(0x9f00_0000)).data);
    expect(call(s, VMID.HLOS, "FW_SET_VM_FIRMWARE", encodeFwSetVmFirmware({ authType: 2, handle: fw, offset: 0, size: 0x10_0000 })).err).toBe("OK");
    expect(set(0x81, plain).err).toBe("MEM_INVALID"); // lent to VM 0x80, not 0x81 (:321-328)
    expect(set(0x81, pvm, 0x20_0000).err).toBe("ARGUMENT_INVALID"); // past the parcel (:330-339)
    expect(set(0x81, pvm)).toMatchObject({ err: "OK", data: new Uint8Array(0) });
  });
});

describe("protected room events are trace errors where they cannot happen", () => {
  it("pvm_load_image needs protected-VM support and a VMM VM; pvmfw_boot needs a pVM in pvmfw", () => {
    const plain = hvModel.genesis({ platform: DEFAULT_PLATFORM });
    expect(() => step(plain, { kind: "pvm_load_image", vm: 0x80, gpa: 0x8000_0000, image: new Uint8Array(16), instanceId: "i" } as never)).toThrow(/no protected-VM support/);
    const s = hvModel.genesis(config);
    expect(() => step(s, { kind: "pvm_load_image", vm: 0x80, gpa: 0x8000_0000, image: new Uint8Array(16), instanceId: "i" } as never)).toThrow(/has no VMM VM in LOAD/);
    expect(() => step(s, { kind: "pvmfw_boot", vm: 0x80, vcpu: 0 } as never)).toThrow(/not a running protected VM in pvmfw/);
    expect(step(s, { kind: "host_read", ipa: 0x9000_0000, sizeBytes: 8 } as never)[1]).toEqual({ result: "ok", pa: 0x9000_0000, label: "vm3" });
    expect(step(s, { kind: "host_read", ipa: 0x8000_0000, sizeBytes: 8 } as never)[1]).toEqual({ result: "abort", fault: "translation", injected: "synchronous_external_abort" });
  });

  it("genesis: the bootloader's DICE handover for pvmfw and a fresh sealed rollback store", () => {
    const s = hvModel.genesis(config);
    expect(s.pvm.platform!.handover.certificates).toHaveLength(1);
    expect(s.pvm.platform!.rollback.indices.every((v) => v === 0n)).toBe(true);
    expect(hvModel.genesis({ platform: DEFAULT_PLATFORM }).pvm.platform).toBeNull();
  });
});
