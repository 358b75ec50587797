/**
 * Protected VMs in the RM's lifecycle (issue #6): pvmfw registration (FW_SET_VM_FIRMWARE,
 * FW_MILESTONE), the VM's firmware region (VM_SET_FIRMWARE_MEM), and what VM_START does for auth
 * type ANDROID (copy pvmfw into the firmware region, zero the rest, start the single boot vCPU at
 * pvmfw's entry). Rules from RM:src/vm_firmware/vm_firmware.c (reference gunyah-rm-and-host.md
 * §2.2, §6.1, §6.2; avf-protected-vm.md §2.3). The rest of the RM calls in through two hooks in
 * lifecycle.ts (marked "protected VMs"); the pVM's own state lives in src/model/protected.
 */
import { AUTH_TYPE, VMID, type RmError } from "../abi/rm.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { reply, type RequestHandler, type RmCtx } from "./context.ts";
import type { RmVm } from "./state.ts";
import { setLabel, zeroRange } from "./content.ts";
import { acceptDonated, parcelForTarget, parcelSize } from "./memparcel.ts";
import { isQueryAllowed } from "./peers.ts";
import { translate } from "../memory/stage2.ts";
import { pvmOf, type PvmState } from "../protected/state.ts";
import type { Machine } from "../machine.ts";

type WithPvm = Machine;
const pvmState = (ctx: RmCtx): PvmState => (ctx.s as unknown as WithPvm).pvm;

/** Where crosvm reserves PV-time structures on KVM (0x1f0_0000, reference §8); on Gunyah they are in the info area. */
export const PV_TIME_IPA = 0x1f0_0000;
/** pvmfw's scratch area (handover page) sits 2 MiB into the 4 MiB firmware window (reference §2.4). */
export const PVMFW_SCRATCH_OFFSET = 0x20_0000;

/** {auth_type u16, res0 u16, image_mp_handle u32, image_offset u64, image_size u64}. */
export const encodeFwSetVmFirmware = (m: { authType: number; handle: number; offset: number; size: number }): Uint8Array =>
  new ByteWriter().u16(m.authType).u16(0).u32(m.handle).u64(m.offset).u64(m.size).done();
/** {vmid u16, res0 u16, fw_mp_handle u32, fw_offset u64, fw_size u64}. */
export const encodeVmSetFirmwareMem = (m: { vmid: number; handle: number; offset: number; size: number }): Uint8Array =>
  new ByteWriter().u16(m.vmid).u16(0).u32(m.handle).u64(m.offset).u64(m.size).done();

function decode24(p: Uint8Array): { a: number; res0: number; handle: number; offset: number; size: number } | null {
  if (p.length !== 24) return null;
  const r = new ByteReader(p);
  const a = r.u16();
  const res0 = r.u16();
  const handle = r.u32();
  const offset = r.u64();
  const size = r.u64();
  return r.short ? null : { a, res0, handle, offset, size };
}

/**
 * FW_SET_VM_FIRMWARE: HLOS only, before the milestone, auth ANDROID (the only type with a firmware
 * slot), offset 0; the parcel must be donated to the RM, which accepts it itself. A second
 * registration gets BUSY. The RM does not validate the image (the bootloader did).
 */
export const onFwSetVmFirmware: RequestHandler = (ctx, p) => {
  const m = decode24(p);
  if (m === null) return reply("MSG_INVALID");
  const pvm = pvmState(ctx);
  if (ctx.caller !== VMID.HLOS || pvm.milestone) return reply("DENIED");
  if (m.a !== AUTH_TYPE.ANDROID || m.res0 !== 0 || m.offset !== 0) return reply("ARGUMENT_INVALID");
  if (pvm.firmware !== null) return reply("BUSY");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  const total = parcel.regions.reduce((a, r) => a + r.size, 0);
  if (parcel.owner !== VMID.HLOS || parcel.transType !== "DONATE" || parcel.acl[0]?.vmid !== VMID.RM || m.size === 0 || m.size > total) {
    return reply("ARGUMENT_INVALID");
  }
  // The RM accepts the donation itself: the pages become the RM's, mapped 1:1 in its own stage-2.
  const regions = parcel.regions.map((r) => ({ ...r }));
  if (!acceptDonated(ctx, parcel, VMID.RM, regions.map((r) => r.pa))) return reply("MAP_FAILED");
  for (const r of regions) setLabel(ctx.s, r.pa, r.size, "pvmfw");
  pvm.firmware = { handle: m.handle, size: m.size };
  return reply("OK");
};

/** FW_MILESTONE: HLOS only; firmware registration closes, copying into VMs opens. */
export const onFwMilestone: RequestHandler = (ctx, p) => {
  if (p.length !== 0) return reply("MSG_INVALID");
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  pvmState(ctx).milestone = true;
  return reply("OK");
};

/**
 * VM_SET_FIRMWARE_MEM (RM:src/vm_mgnt/vm_mgnt.c:1718-1760, vm_firmware.c:303-365): 24 bytes with
 * res0 0 (MSG_INVALID); an unknown VMID NORESOURCE; a caller that may not query it DENIED; the VM
 * in INIT (VM_STATE); an auth type without a firmware slot ARGUMENT_INVALID; no image registered
 * DENIED; the parcel must name the VM in its ACL (MEM_INVALID) and hold the range
 * (ARGUMENT_INVALID). Every error reply carries the hypervisor error word ARGUMENT_INVALID (1)
 * after the RM error (rm_reply_error with hvc_err, which this handler never changes).
 */
export const onVmSetFirmwareMem: RequestHandler = (ctx, p) => {
  const r = setFirmwareMem(ctx, p);
  return r === "OK" ? reply("OK") : reply(r, new ByteWriter().u32(1).done());
};

function setFirmwareMem(ctx: RmCtx, p: Uint8Array): RmError {
  const m = decode24(p);
  if (m === null || m.res0 !== 0) return "MSG_INVALID";
  const vm = ctx.s.rm.vms.byId[m.a];
  if (vm === undefined) return "NORESOURCE";
  if (!isQueryAllowed(ctx.s, vm.vmid, ctx.caller)) return "DENIED";
  if (vm.status !== "INIT") return "VM_STATE";
  if (vm.authType !== AUTH_TYPE.ANDROID) return "ARGUMENT_INVALID";
  if (pvmState(ctx).firmware === null) return "DENIED";
  const parcel = parcelForTarget(ctx.s, vm.vmid, m.handle);
  if (parcel === undefined) return "MEM_INVALID";
  if (m.offset + m.size > parcelSize(parcel)) return "ARGUMENT_INVALID";
  pvmOf(ctx.s as unknown as WithPvm, vm.vmid).fw = { handle: m.handle, offset: m.offset, size: m.size, ipa: 0 };
  return "OK";
}

/**
 * vm_firmware_vm_start for auth ANDROID (vm_firmware.c:401-500), after the RM accepted the VM's
 * parcels: the firmware is mandatory, so it is copied: loading not yet closed by FW_MILESTONE
 * DENIED, no image registered NORESOURCE, an image larger than the firmware region MEM_INVALID;
 * then exactly one boot vCPU (the model's configs boot vCPU 0 only; none: NORESOURCE).
 */
export function protectedStartCheck(ctx: RmCtx, vm: RmVm): RmError | null {
  if (vm.authType !== AUTH_TYPE.ANDROID) return null;
  const pvm = pvmState(ctx);
  const fw = pvm.vms.byId[vm.vmid]?.fw ?? null;
  if (!pvm.milestone) return "DENIED";
  if (pvm.firmware === null) return "NORESOURCE";
  if (pvm.firmware.size > (fw?.size ?? 0)) return "MEM_INVALID";
  return null;
}

/**
 * VM_START for auth ANDROID, after the RM accepted the VM's parcels: copy pvmfw to the start of the
 * firmware range and zero the rest, mark everything lent to the VM for sanitising at reclaim (the
 * VM is "sensitive"), record its private memory, and put the boot vCPU at pvmfw's entry:
 * PC = firmware IPA + offset, X0 = DTB IPA (X1/X2 = image IPA/size are not modelled registers).
 */
export function protectedStarted(ctx: RmCtx, vm: RmVm): void {
  if (vm.authType !== AUTH_TYPE.ANDROID) return;
  const s = ctx.s as unknown as WithPvm;
  const p = pvmOf(s, vm.vmid);
  const fw = p.fw!;
  const parcel = s.rm.parcels.byId[fw.handle];
  const b = parcel?.borrowers.find((x) => x.vmid === vm.vmid && x.accepted);
  const fwIpa = b === undefined ? 0 : (b.ipas[0] ?? 0) + fw.offset;
  fw.ipa = fwIpa;
  const size = s.pvm.firmware!.size;
  const tr = translate(s, vm.vmid, fwIpa);
  if (tr !== null) {
    setLabel(s, tr.pa, size, "pvmfw");
    if (fw.size > size) zeroRange(s, tr.pa + size, fw.size - size);
  }
  // Its private memory, for the isolation oracle. (Which parcels are sanitised at reclaim is the
  // RM's accept-time rule, rm/memparcel.ts acceptForVmStart, not a blanket mark here.)
  p.privatePa = [];
  for (const h of s.rm.parcels.ids) {
    const pc = s.rm.parcels.byId[h]!;
    if (pc.transType === "SHARE" || !pc.borrowers.some((x) => x.vmid === vm.vmid && x.accepted)) continue;
    for (const r of pc.regions) p.privatePa.push({ base: r.pa, size: r.size });
  }
  p.stage = "firmware";
  p.boots += 1;
  p.refusal = null;
  p.boot = null;
  p.handover = null;
  p.handoverIpa = fwIpa + Math.min(PVMFW_SCRATCH_OFFSET, Math.max(0, fw.size - 0x1000));
  // The PV-time records live in the VM information area the RM configured at VM_INIT (arm_pv_time).
  p.pvtime = { ipa: s.rm.hv?.vms[vm.vmid]?.infoArea?.ipa ?? PV_TIME_IPA, stolenNs: vm.vcpus.ids.map(() => 0) };
  const boot = vm.vcpus.byId[vm.vcpus.ids[0]!]!;
  boot.pc = fwIpa;
}
