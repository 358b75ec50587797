/**
 * VM lifecycle requests: ALLOCATE, DEALLOCATE, CONFIG_IMAGE, INIT, START, STOP, RESET, EXIT,
 * GET_STATE, SET_STATUS, GET_VMID, SET_CRASH_MSG, and the halt paths (PSCI off/reset, vCPU fault,
 * watchdog bite). Rules from RM:src/vm_mgnt/vm_mgnt.c and RM:src/vm_creation/vm_creation.c
 * (reference gunyah-rm-and-host.md §2.1, §3). Every state update sends NOTIFY_VM_STATUS to the
 * VM's RUNNING peers, i.e. its owner (vm_mgnt_update_vm_state -> vm_mgnt_send_state).
 */
import { AUTH_TYPE, EXIT_CODE, EXIT_TYPE, OS_STATUS, VM_STATUS, VM_STOP_FLAG_FORCE, VMID, type ExitType, type VmStatus } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { notify, reply, setStatus, edgeAllowed, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import { decodeVmConfigImage, decodeVmExit, decodeVmStop, decodeVmid, encodeVmExited, encodeVmStatus, exitReasonWord0 } from "./payloads.ts";
import { addId, dropId, type RmVm } from "./state.ts";
import { acceptForVmStart, releaseAllAccepted } from "./memparcel.ts";
import { readVmConfig } from "./vmconfig.ts";
import { protectedStartCheck, protectedStarted } from "./protected.ts";
import { releaseAllIrqs } from "./irq.ts";
import { RIGHTS } from "../abi/rights.ts";
import { grant, createBell, createVcpus, createVmSkeleton, destroyBells, destroyVcpus, destroyVm, powerOn, stopVcpus } from "./hv.ts";
import { objectAs } from "../object/objects.ts";

/** Max vCPUs of a VM's VIC: PLATFORM_MAX_CORES on QEMU (GH:config/platform/qemu.conf). */
const VM_MAX_VCPUS = 8;

const u32 = (v: number): Uint8Array => new ByteWriter().u32(v).done();

function updateState(ctx: RmCtx, vm: RmVm, to: VmStatus): void {
  setStatus(vm, to);
  notify(ctx, vm.owner, "NOTIFY_VM_STATUS", encodeVmStatus({ vmid: vm.vmid, vmStatus: VM_STATUS[to], osStatus: vm.osStatus, appStatus: vm.appStatus }));
}

function newVm(vmid: number, owner: number): RmVm {
  return {
    vmid, owner, status: "LOAD", prevStatus: "NONE", osStatus: 0, appStatus: 0,
    authType: 0, imageHandle: 0xffffffff, imageOffset: 0, imageSize: 0, dtOffset: 0, dtSize: 0,
    config: null, vcpus: { ids: [], byId: {} }, exit: null, crashMsg: "", boots: 0,
  };
}

/**
 * VMIDs a VM_ALLOCATE may ask for by number: the platform's secondary VMIDs, 4..31 on QEMU
 * (RM:platform/qemu/src/platform_qemu.c platform_get_secondary_vmids 0xFFFFFFF0;
 * RM:src/vm_mgnt/vm_mgnt.c vm_mgnt_handle_allocate). Never the HLOS's own VMID 3.
 */
const SECONDARY_VMIDS = 0xffff_fff0;
const staticSecondary = (vmid: number): boolean => vmid < 32 && ((SECONDARY_VMIDS >>> vmid) & 1) === 1;

/** VM_ALLOCATE: HLOS only; vmid 0 picks the lowest free dynamic VMID and replies with it. */
export const onVmAllocate: RequestHandler = (ctx, p) => {
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vms = ctx.s.rm.vms;
  let vmid = m.vmid;
  if (vmid === 0) {
    vmid = -1;
    for (let v = VMID.DYNAMIC_FIRST; v < VMID.DYNAMIC_END; v++) if (vms.byId[v] === undefined) { vmid = v; break; }
  } else if (!staticSecondary(vmid) || vms.byId[vmid] !== undefined) vmid = -1;
  if (vmid < 0) return reply("NORESOURCE");
  addId(vms, vmid, newVm(vmid, ctx.caller));
  // The VM's hypervisor skeleton: cspace, addrspace (its VMID), VIC and the RM channel (hv.ts).
  createVmSkeleton(ctx.s, vmid, VM_MAX_VCPUS);
  return m.vmid === 0 ? reply("OK", u32(vmid)) : reply("OK");
};

/** Looks up the target and checks the caller owns it; START/DEALLOCATE say DENIED, STOP/RESET VMID_INVALID (§11.5). */
function ownedTarget(ctx: RmCtx, p: Uint8Array, notOwner: "DENIED" | "VMID_INVALID"): RmVm | RmReply {
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.owner !== ctx.caller) return reply(notOwner);
  return vm;
}
const isReply = (x: RmVm | RmReply): x is RmReply => "err" in x;

export const onVmDeallocate: RequestHandler = (ctx, p) => {
  const vm = ownedTarget(ctx, p, "DENIED");
  if (isReply(vm)) return vm;
  if (vm.status !== "LOAD" && vm.status !== "RESET") return reply("VM_STATE");
  releaseAllIrqs(ctx, vm.vmid); // its VIC goes: lent lines it accepted are unbound (back to OFFERED)
  dropId(ctx.s.rm.vms, vm.vmid);
  destroyVm(ctx.s, vm.vmid);
  return reply("OK");
};

/** VM_CONFIG_IMAGE: LOAD or RESET; the image and DT ranges must lie inside the image parcel. */
export const onVmConfigImage: RequestHandler = (ctx, p) => {
  const m = p.length === 40 ? decodeVmConfigImage(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (ctx.caller !== VMID.HLOS || vm.owner !== ctx.caller) return reply("DENIED");
  if (vm.status !== "LOAD" && vm.status !== "RESET") return reply("VM_STATE");
  const parcel = ctx.s.rm.parcels.byId[m.imageHandle];
  const size = parcel === undefined ? 0 : parcel.regions.reduce((a, r) => a + r.size, 0);
  const inside = (off: number, len: number): boolean => off >= 0 && len >= 0 && off + len <= size;
  if (parcel === undefined || parcel.owner !== ctx.caller || !inside(m.imageOffset, m.imageSize) || !inside(m.dtOffset, m.dtSize) || m.dtSize === 0) {
    updateState(ctx, vm, "INIT_FAILED");
    return reply(parcel === undefined ? "HANDLE_INVALID" : "ARGUMENT_INVALID");
  }
  if (m.authType !== AUTH_TYPE.NONE && m.authType !== AUTH_TYPE.ANDROID && m.authType !== AUTH_TYPE.PLATFORM) {
    updateState(ctx, vm, "INIT_FAILED");
    return reply("ARGUMENT_INVALID");
  }
  Object.assign(vm, { authType: m.authType, imageHandle: m.imageHandle, imageOffset: m.imageOffset, imageSize: m.imageSize, dtOffset: m.dtOffset, dtSize: m.dtSize });
  updateState(ctx, vm, m.authType === AUTH_TYPE.PLATFORM ? "AUTH" : "INIT");
  return reply("OK");
};

/**
 * VM_AUTH_IMAGE {target u16, num_auth_params u16, params[num] {type u32, value u32}}: AUTH -> INIT
 * when the platform accepts the image, else INIT_FAILED (RM:src/vm_creation/vm_creation.c
 * vm_creation_handle_auth). The QEMU platform accepts every PLATFORM-auth image
 * (RM:platform/qemu/src/platform_qemu.c platform_vm_auth); other auth types have nothing to
 * authenticate here (ARGUMENT_INVALID). Without it a VM configured with auth PLATFORM stays in AUTH.
 */
export const onVmAuthImage: RequestHandler = (ctx, p) => {
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  if (p.length < 4 || p.length !== 4 + 8 * (p[2]! | (p[3]! << 8))) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[p[0]! | (p[1]! << 8)];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.owner !== ctx.caller) return reply("DENIED");
  if (vm.status !== "AUTH") return reply("VM_STATE");
  const ok = vm.authType === AUTH_TYPE.PLATFORM;
  updateState(ctx, vm, ok ? "INIT" : "INIT_FAILED");
  return ok ? reply("OK") : reply("ARGUMENT_INVALID");
};

/** VM_INIT: INIT -> READY; parses the VM config from the DT inside the image parcel and creates the vCPUs. */
export const onVmInit: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null || m.res0 !== 0) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (ctx.caller !== VMID.HLOS || vm.owner !== ctx.caller) return reply("DENIED");
  if (vm.status !== "INIT") return reply("VM_STATE");
  const config = readVmConfig(ctx.s, vm);
  if (config === null) {
    updateState(ctx, vm, "INIT_FAILED");
    return reply("ARGUMENT_INVALID");
  }
  vm.config = config;
  vm.vcpus = { ids: [], byId: {} };
  for (let i = 0; i < config.vcpus; i++) addId(vm.vcpus, i, { power: "off", pc: 0, x0: 0 });
  // vdevices and vCPUs (RM:src/vm_config): proxy-scheduled vCPUs (crosvm's `affinity = "proxy"`,
  // reference §8 step 8), a doorbell per irqfd bell, and VMMIO forwarding of the IPA space below
  // the VM's RAM to the proxy (crosvm's MMIO bus; ⚠ the open RM has no such node: model choice).
  const hv = ctx.s.rm.hv!.vms[vm.vmid]!;
  const host = ctx.s.rm.hv!.vms[vm.owner];
  createVcpus(ctx.s, hv, config.vcpus, { proxy: true, hlos: false });
  const t = RIGHTS.thread;
  if (host !== undefined) hv.hostVcpuCaps = hv.vcpus.map((id) => grant(ctx.s, host.cspace, id, "thread", t.AFFINITY | t.YIELD_TO | t.STATE | t.BIND_VIRQ | t.LIFECYCLE));
  for (const b of config.bells) if (host !== undefined) createBell(ctx.s, hv, host, b.label, b.irq);
  const as = objectAs(ctx.s, hv.addrspace, "addrspace")!;
  as.vmmio = config.baseAddress > 0 ? [{ base: 0, size: config.baseAddress }] : [];
  updateState(ctx, vm, "READY");
  return reply("OK");
};

/** VM_START: READY -> RUNNING: the RM accepts the VM's parcels itself, then powers on the boot vCPU (§4.4, §6.2). */
export const onVmStart: RequestHandler = (ctx, p) => {
  if (ctx.caller === VMID.HYP) return reply("DENIED");
  const vm = ownedTarget(ctx, p, "DENIED");
  if (isReply(vm)) return vm;
  if (vm.status !== "READY") return reply("VM_STATE");
  const config = vm.config!;
  // protected VMs (issue #6, src/model/rm/protected.ts): pvmfw registered, firmware region set, one boot vCPU.
  const fwErr = protectedStartCheck(ctx, vm);
  if (fwErr !== null) {
    updateState(ctx, vm, "INIT_FAILED");
    return reply(fwErr);
  }
  if (!acceptForVmStart(ctx, vm, config) || vm.vcpus.ids.length === 0) {
    updateState(ctx, vm, "INIT_FAILED");
    return reply("NORESOURCE");
  }
  const boot = vm.vcpus.byId[0]!;
  boot.power = "on";
  boot.pc = config.baseAddress + vm.imageOffset;
  boot.x0 = config.baseAddress + vm.dtOffset;
  protectedStarted(ctx, vm); // protected VMs (issue #6): copy pvmfw, boot vCPU at pvmfw's entry
  powerOn(ctx.s, ctx.s.rm.hv!.vms[vm.vmid]!.vcpus[0]!, boot.pc, boot.x0);
  vm.boots += 1;
  vm.exit = null;
  updateState(ctx, vm, "RUNNING");
  return reply("OK");
};

/** Moves a VM to EXITED and tells its owner why (vm_mgnt_send_exited: reason word 0 = flags | code << 16). */
export function exitVm(ctx: RmCtx, vm: RmVm, type: ExitType, exitFlags: number, exitCode: number, extra: readonly number[] = []): void {
  for (const id of vm.vcpus.ids) vm.vcpus.byId[id]!.power = "off";
  const hv = ctx.s.rm.hv?.vms[vm.vmid];
  if (hv !== undefined) stopVcpus(ctx.s, hv);
  updateState(ctx, vm, "EXITED");
  const reason = [exitReasonWord0(exitFlags, exitCode), ...extra];
  vm.exit = { type: EXIT_TYPE[type], reason };
  notify(ctx, vm.owner, "NOTIFY_VM_EXITED", encodeVmExited({ vmid: vm.vmid, exitType: EXIT_TYPE[type], reason }));
}

/** Can the VM go to EXITED? RUNNING/PAUSED and neither no-shutdown nor crash-fatal. */
export function canExit(vm: RmVm): boolean {
  const c = vm.config;
  return edgeAllowed(vm.status, "EXITED") && !(c?.noShutdown ?? false) && !(c?.crashFatal ?? false);
}

export const onVmStop: RequestHandler = (ctx, p) => {
  const m = p.length === 8 ? decodeVmStop(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined || vm.owner !== ctx.caller) return reply("VMID_INVALID");
  if (!canExit(vm)) return reply("VM_STATE");
  if ((m.flags & VM_STOP_FLAG_FORCE) !== 0) {
    exitVm(ctx, vm, "VM_STOP_FORCED", 0, EXIT_CODE.NORMAL);
  } else {
    notify(ctx, vm.vmid, "NOTIFY_VM_SHUTDOWN", u32(m.stopReason));
  }
  return reply("OK");
};

/**
 * VM_RESET: EXITED/READY/INIT_FAILED -> RESETTING, then the reset stages run (destroy vdevices,
 * release memparcels with MEM_RELEASED to owners, release IRQs, destroy, clean up) -> RESET. The
 * RM runs the stages from its event loop; the model completes them within the request.
 */
export const onVmReset: RequestHandler = (ctx, p) => {
  const vm = ownedTarget(ctx, p, "VMID_INVALID");
  if (isReply(vm)) return vm;
  if (vm.config?.noReset === true || vm.config?.crashFatal === true) return reply("DENIED");
  if (!edgeAllowed(vm.status, "RESETTING")) return reply("VM_STATE");
  updateState(ctx, vm, "RESETTING");
  const hv = ctx.s.rm.hv!.vms[vm.vmid]!;
  destroyBells(ctx.s, hv);
  releaseAllAccepted(ctx, vm.vmid);
  releaseAllIrqs(ctx, vm.vmid);
  destroyVcpus(ctx.s, hv);
  objectAs(ctx.s, hv.addrspace, "addrspace")!.vmmio = [];
  vm.vcpus = { ids: [], byId: {} };
  vm.config = null;
  vm.osStatus = OS_STATUS.NONE;
  vm.appStatus = 0;
  vm.crashMsg = "";
  updateState(ctx, vm, "RESET");
  return reply("OK");
};

/** VM_EXIT from the guest about itself: exit_code 0, 1, 3 or 4 and res0 0, else MSG_INVALID. */
export const onVmExit: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmExit(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.config?.crashFatal === true) return reply("ARGUMENT_INVALID");
  const validCode = m.exitCode === EXIT_CODE.NORMAL || m.exitCode === EXIT_CODE.SOFTWARE_ERROR || m.exitCode === EXIT_CODE.BUS_ERROR || m.exitCode === EXIT_CODE.DEVICE_ERROR;
  if (!validCode || m.res0 !== 0) return reply("MSG_INVALID");
  if (!edgeAllowed(vm.status, "EXITED")) return reply("VM_STATE");
  if (vm.config !== null) vm.config.noShutdown = false; // a self-requested shutdown is allowed
  exitVm(ctx, vm, "VM_EXIT", m.exitFlags, m.exitCode);
  return reply("OK");
};

export const onVmGetState: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid === 0 ? ctx.caller : m.vmid];
  if (vm === undefined) return reply("NORESOURCE");
  if (ctx.caller !== vm.vmid && ctx.caller !== vm.owner) return reply("DENIED");
  return reply("OK", u32(VM_STATUS[vm.status] | (vm.osStatus << 8) | (vm.appStatus << 16)));
};

/** VM_SET_STATUS: only static secondary VMIDs (< 64) may report (§11.6). */
export const onVmSetStatus: RequestHandler = (ctx, p) => {
  if (ctx.caller >= 64 || ctx.caller === VMID.HYP || ctx.caller === VMID.HLOS) return reply("DENIED");
  if (p.length !== 4) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("NORESOURCE");
  const os = p[1]!;
  if (os > OS_STATUS.CRASHED) return reply("ARGUMENT_INVALID");
  if (os !== OS_STATUS.NONE) vm.osStatus = os;
  vm.appStatus = p[2]! | (p[3]! << 8);
  notify(ctx, vm.owner, "NOTIFY_VM_STATUS", encodeVmStatus({ vmid: vm.vmid, vmStatus: VM_STATUS[vm.status], osStatus: vm.osStatus, appStatus: vm.appStatus }));
  return reply("OK");
};

export const onVmGetVmid: RequestHandler = (ctx, p) => (p.length === 0 ? reply("OK", u32(ctx.caller)) : reply("MSG_INVALID"));

/** VM_SET_CRASH_MSG {len u16, pad, bytes padded to 4}; truncated to 192 bytes. */
export const onVmSetCrashMsg: RequestHandler = (ctx, p) => {
  if (p.length < 4) return reply("MSG_INVALID");
  const len = p[0]! | (p[1]! << 8);
  if (Math.ceil(len / 4) * 4 + 4 !== p.length) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("VMID_INVALID");
  vm.crashMsg = String.fromCharCode(...p.subarray(4, 4 + Math.min(len, 192)));
  return reply("OK");
};

/** The halt causes the RM sees through virqs (vCPU halt with its vcpu_run_check state, watchdog bite). */
export type HaltCause = "PSCI_SYSTEM_OFF" | "PSCI_SYSTEM_RESET" | "VCPU_FAULT" | "WATCHDOG_BITE";

/**
 * A guest VM halted: the RM maps the cause to an exit type (§3.4): SYSTEM_OFF -> PLATFORM_OFF,
 * SYSTEM_RESET -> PLATFORM_RESET (flag RESTART), a vCPU fault -> SOFTWARE_ERROR, a watchdog bite ->
 * WATCHDOG_BITE with SOFTWARE_ERROR if a crash message was set. Returns false if the VM cannot exit.
 */
export function onVmHalt(ctx: RmCtx, vm: RmVm, cause: HaltCause): boolean {
  if (!canExit(vm)) return false;
  if (cause === "PSCI_SYSTEM_OFF") exitVm(ctx, vm, "PLATFORM_OFF", 0, EXIT_CODE.NORMAL);
  else if (cause === "PSCI_SYSTEM_RESET") exitVm(ctx, vm, "PLATFORM_RESET", 0x1, EXIT_CODE.NORMAL);
  else if (cause === "VCPU_FAULT") exitVm(ctx, vm, "SOFTWARE_ERROR", 0, EXIT_CODE.SOFTWARE_ERROR);
  else exitVm(ctx, vm, "WATCHDOG_BITE", 0, vm.crashMsg.length > 0 ? EXIT_CODE.SOFTWARE_ERROR : EXIT_CODE.NORMAL);
  return true;
}
