/**
 * Helpers for the RM, VMM, virtio and SMMU tests: a state holding just the slices these rooms use,
 * and one-line RM calls. Test-only; the model never imports it.
 */
import { rmMessageId, VMID, type RmMessageName } from "../abi/rm.ts";
import { writePhys } from "./content.ts";
import { translate } from "../memory/stage2.ts";
import { onRmRequest } from "./handlers.ts";
import { mutableCopy } from "../../core/reducer.ts";
import { DEFAULT_PLATFORM, hvModel, type Machine } from "../machine.ts";
import * as P from "./payloads.ts";
import { encodeVmConfigBlob, type VmConfigSource } from "./vmconfig.ts";
import type { RmRequestOutcome } from "./events.ts";

export const RAM = { base: 0x8000_0000, size: 0x4000_0000 };
export type TestState = Machine;

/** The whole machine with the HLOS booted, as a plain mutable copy (helpers mutate it in place). */
export function freshState(): TestState {
  return mutableCopy(hvModel.genesis({ platform: DEFAULT_PLATFORM }));
}

export function call(s: TestState, vm: number, msg: RmMessageName, payload: Uint8Array = new Uint8Array(0)): RmRequestOutcome {
  s.seq += 1;
  return onRmRequest(s, { kind: "rm_request", seq: s.seq, t: s.t, vm, msgId: rmMessageId(msg), rpcSeq: s.seq & 0xffff, payload });
}

export const u32At = (b: Uint8Array, off = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);

/** Host memory used by the tests: image region (with the DT at +0x1000) and a second region. */
export const HOST_IMAGE = 0x9000_0000;
export const IMAGE_SIZE = 0x10_0000;
export const GUEST_BASE = 0x8000_0000;

export const DEFAULT_CONFIG: VmConfigSource = { baseAddress: GUEST_BASE, vcpus: 2, memory: [], bells: [], vmAttrs: [] };

/** Allocates a VM, lends its image parcel and configures + inits it: the VM is READY. */
export function readyVm(s: TestState, config: VmConfigSource = DEFAULT_CONFIG, authType = 0, hostImage = HOST_IMAGE): { vmid: number; image: number } {
  const vmid = u32At(call(s, VMID.HLOS, "VM_ALLOCATE", P.encodeVmid(0)).data);
  writePhys(s, hostImage + 0x1000, encodeVmConfigBlob(config), `vm${VMID.HLOS}`);
  const lend = call(s, VMID.HLOS, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid, rights: 7 }], sgl: [{ ipa: hostImage, size: IMAGE_SIZE }], attrs: [] }));
  const image = u32At(lend.data);
  call(s, VMID.HLOS, "VM_CONFIG_IMAGE", P.encodeVmConfigImage({ vmid, authType, imageHandle: image, imageOffset: 0, imageSize: 0x1000, dtOffset: 0x1000, dtSize: 0x1000 }));
  call(s, VMID.HLOS, "VM_INIT", P.encodeVmid(vmid));
  return { vmid, image };
}

/** Who reaches `ipa` in `vmid`'s stage-2 (HYP's `translate`), with which access; null if unmapped. */
export function reach(s: TestState, vmid: number, ipa: number): { pa: number; rights: number } | null {
  const tr = translate(s, vmid, ipa);
  return tr === null ? null : { pa: tr.pa, rights: tr.access };
}

export { ownerName } from "./owner.ts";
