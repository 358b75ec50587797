/**
 * VM lifecycle requests: ALLOCATE, DEALLOCATE, CONFIG_IMAGE, AUTH_IMAGE, INIT, START, STOP, RESET,
 * EXIT, GET_STATE, SET_STATUS, GET_VMID, GET_OWNER, GET_PEERS, SET/GET_CRASH_MSG, HOST_GET_TYPE, and
 * the halt paths (the vCPU-halt VIRQ, watchdog bite). Rules from RM:src/vm_mgnt/vm_mgnt.c,
 * RM:src/vm_creation/vm_creation.c and second_vm.c (reference gunyah-rm-and-host.md §2.1, §3).
 * Every state update sends NOTIFY_VM_STATUS to every RUNNING peer of the VM (vm_mgnt_send_state,
 * vm_mgnt.c:68-96); the owner is a peer from VM_ALLOCATE until the VM's reset completes.
 */
import { AUTH_TYPE, EXIT_CODE, EXIT_TYPE, OS_STATUS, VM_STATUS, VM_STOP_FLAG_FORCE, VMID, type ExitType, type VmStatus } from "../abi/rm.ts";
import { VCPU_RUN_STATE } from "../abi/constants.ts";
import { ByteWriter } from "./bytes.ts";
import { notify, reply, setStatus, edgeAllowed, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import { decodeVmConfigImage, decodeVmExit, decodeVmStop, decodeVmid, encodeVmExited, encodeVmStatus, exitReasonWord0 } from "./payloads.ts";
import { addId, dropId, type RmVm } from "./state.ts";
import { acceptForVmStart, releaseAllAccepted, parcelForTarget, parcelSize } from "./memparcel.ts";
import { readVmConfig } from "./vmconfig.ts";
import { protectedStartCheck, protectedStarted } from "./protected.ts";
import { releaseAllIrqs } from "./irq.ts";
import { applyOverlay } from "./overlay.ts";
import { ipaInit } from "./ipa.ts";
import { RIGHTS } from "../abi/rights.ts";
import { grant, createBell, createVcpus, createVmCspace, createVmObjects, destroyVmObjects, powerOn, type VmHv } from "./hv.ts";
import { hvcAs } from "./transport.ts";
import { objectAs } from "../object/objects.ts";
import { pendingRunState } from "../vcpu/run.ts";
import { applyBootContext, applyDemandPaging } from "./demand.ts";
import { deregisterAllPeers, isQueryAllowed, peersOf, registerPeers } from "./peers.ts";

/** Max vCPUs of a VM's VIC: PLATFORM_MAX_CORES on QEMU (GH:config/platform/qemu.conf). */
const VM_MAX_VCPUS = 8;

const u32 = (v: number): Uint8Array => new ByteWriter().u32(v).done();

/** vm_mgnt_send_state: NOTIFY_VM_STATUS to each peer that is RUNNING and has an RM channel (vm_mgnt.c:68-96). */
export function sendState(ctx: RmCtx, vm: RmVm): void {
  const msg = encodeVmStatus({ vmid: vm.vmid, vmStatus: VM_STATUS[vm.status], osStatus: vm.osStatus, appStatus: vm.appStatus });
  for (const p of peersOf(ctx.s, vm.vmid)) {
    // The HLOS is RUNNING from boot (RM:src/vm_creation/hlos_vm.c:707).
    const running = p === VMID.HLOS || ctx.s.rm.vms.byId[p]?.status === "RUNNING";
    if (running && ctx.s.rm.hv?.vms[p]?.channel) notify(ctx, p, "NOTIFY_VM_STATUS", msg);
  }
}

function updateState(ctx: RmCtx, vm: RmVm, to: VmStatus): void {
  setStatus(vm, to);
  sendState(ctx, vm);
}

/** A failed CONFIG_IMAGE / AUTH_IMAGE / INIT sets INIT_FAILED and still tells the peers (second_vm.c, vm_creation.c:174-178). */
function failInit(ctx: RmCtx, vm: RmVm): void {
  updateState(ctx, vm, "INIT_FAILED");
}

function newVm(vmid: number, owner: number): RmVm {
  return {
    vmid, owner, status: "LOAD", prevStatus: "NONE", osStatus: 0, appStatus: 0,
    authType: 0, imageHandle: 0xffffffff, imageOffset: 0, imageSize: 0, dtOffset: 0, dtSize: 0,
    config: null, vcpus: { ids: [], byId: {} }, exit: null, crashMsg: null, boots: 0, accepted: [], memSize: 0, ipaUsed: [],
  };
}

/**
 * VMIDs a VM_ALLOCATE may ask for by number: the platform's secondary VMIDs, 4..31 on QEMU
 * (RM:platform/qemu/src/platform_qemu.c platform_get_secondary_vmids 0xFFFFFFF0;
 * RM:src/vm_mgnt/vm_mgnt.c vm_mgnt_handle_allocate). Never the HLOS's own VMID 3.
 */
const SECONDARY_VMIDS = 0xffff_fff0;
const staticSecondary = (vmid: number): boolean => vmid < 32 && ((SECONDARY_VMIDS >>> vmid) & 1) === 1;

/** VM_ALLOCATE: HLOS only; vmid 0 picks the lowest free dynamic VMID and replies with it; the owner becomes a peer (vm_mgnt.c:293-357, 495-577). */
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
  registerPeers(ctx.s, vmid, ctx.caller);
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

/** VM_DEALLOCATE: owner; LOAD or RESET, else VM_STATE (vm_mgnt.c:359-390, 579-620). */
export const onVmDeallocate: RequestHandler = (ctx, p) => {
  const vm = ownedTarget(ctx, p, "DENIED");
  if (isReply(vm)) return vm;
  if (vm.status !== "LOAD" && vm.status !== "RESET") return reply("VM_STATE");
  releaseAllIrqs(ctx, vm.vmid);
  deregisterAllPeers(ctx.s, vm.vmid);
  dropId(ctx.s.rm.vms, vm.vmid);
  destroyVmObjects(ctx.s, vm.vmid);
  return reply("OK");
};

/**
 * VM_CONFIG_IMAGE (vm_creation.c:133-198, second_vm.c:56-238): HLOS only, then the length; the
 * target must be the caller's and in LOAD or RESET. The image parcel is any parcel naming the
 * target VM in its ACL (MEM_INVALID if none); the image and DT ranges must lie inside it
 * (ARGUMENT_INVALID; either may be empty). The VM's cspace and config are made here; auth NONE
 * leaves memory unsanitised, ANDROID makes the VM sensitive; an unknown type is ARGUMENT_INVALID.
 * Any failure: INIT_FAILED.
 */
export const onVmConfigImage: RequestHandler = (ctx, p) => {
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  const m = p.length === 40 ? decodeVmConfigImage(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.owner !== ctx.caller) return reply("DENIED");
  if (!edgeAllowed(vm.status, "AUTH")) return reply("VM_STATE");
  const parcel = parcelForTarget(ctx.s, vm.vmid, m.imageHandle);
  const size = parcel === undefined ? 0 : parcelSize(parcel);
  const inside = (off: number, len: number): boolean => off >= 0 && len >= 0 && off + len <= size;
  const err = parcel === undefined ? "MEM_INVALID" : !inside(m.imageOffset, m.imageSize) || !inside(m.dtOffset, m.dtSize) ? "ARGUMENT_INVALID" : m.authType > AUTH_TYPE.ANDROID ? "ARGUMENT_INVALID" : null;
  if (err !== null) {
    failInit(ctx, vm);
    return reply(err);
  }
  Object.assign(vm, { authType: m.authType, imageHandle: m.imageHandle, imageOffset: m.imageOffset, imageSize: m.imageSize, dtOffset: m.dtOffset, dtSize: m.dtSize, memSize: size });
  createVmCspace(ctx.s, vm.vmid);
  updateState(ctx, vm, m.authType === AUTH_TYPE.PLATFORM ? "AUTH" : "INIT");
  return reply("OK");
};

/**
 * VM_AUTH_IMAGE {vmid u16, n_params u16, params {type u32, value u32}[]} (vm_creation.c:224-279):
 * HLOS only, exact length, owner, state AUTH; PLATFORM images go to platform_vm_auth, which the
 * QEMU platform accepts (RM:platform/qemu/src/platform_qemu.c:252-263); other types
 * ARGUMENT_INVALID. INIT, or INIT_FAILED.
 */
export const onVmAuthImage: RequestHandler = (ctx, p) => {
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  if (p.length < 4) return reply("MSG_INVALID");
  const n = p[2]! | (p[3]! << 8);
  if (p.length !== 4 + n * 8) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[p[0]! | (p[1]! << 8)];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.owner !== ctx.caller) return reply("DENIED");
  if (vm.status !== "AUTH") return reply("VM_STATE");
  if (vm.authType !== AUTH_TYPE.PLATFORM) {
    failInit(ctx, vm);
    return reply("ARGUMENT_INVALID");
  }
  updateState(ctx, vm, "INIT");
  return reply("OK");
};

/**
 * VM_INIT: INIT -> READY (vm_creation.c:282-326, second_vm.c:240-312): the DT in the image parcel
 * is parsed (unreadable: MEM_INVALID), the config applied (refused: ARGUMENT_INVALID; a crash-fatal
 * VM needs a trusted config, which no open-RM path grants: vm_config.c:4229-4233), and the VM's
 * objects made: addrspace with info area and default VMMIO region, VIC, channel, VPM group,
 * proxy-scheduled vCPUs, a doorbell per irqfd bell.
 */
export const onVmInit: RequestHandler = (ctx, p) => {
  if (ctx.caller !== VMID.HLOS) return reply("DENIED");
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null || m.res0 !== 0) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.owner !== ctx.caller) return reply("DENIED");
  if (vm.status !== "INIT") return reply("VM_STATE");
  const config = readVmConfig(ctx.s, vm);
  if (config === null || config.crashFatal) {
    failInit(ctx, vm);
    return reply(config === null ? "MEM_INVALID" : "ARGUMENT_INVALID");
  }
  vm.config = config;
  vm.vcpus = { ids: [], byId: {} };
  for (let i = 0; i < config.vcpus; i++) addId(vm.vcpus, i, { power: "off", pc: 0, x0: 0 });
  const hv = ctx.s.rm.hv!.vms[vm.vmid]!;
  const host = ctx.s.rm.hv!.vms[vm.owner];
  createVmObjects(ctx.s, hv, VM_MAX_VCPUS, { vmmio: vm.authType !== AUTH_TYPE.PLATFORM, infoArea: true });
  ipaInit(vm, hv.infoArea?.ipa ?? null);
  applyDemandPaging(ctx.s, vm); // issue 17: guest_memfd demand paging (rm/demand.ts)
  createVcpus(ctx.s, hv, config.vcpus, { proxy: true, hlos: false, vpm: config.psci });
  const t = RIGHTS.thread;
  if (host !== undefined) hv.hostVcpuCaps = hv.vcpus.map((id) => grant(ctx.s, host.cspace, id, "thread", t.AFFINITY | t.YIELD_TO | t.STATE | t.BIND_VIRQ | t.LIFECYCLE));
  for (const b of config.bells) if (host !== undefined) createBell(ctx.s, hv, host, b.label, b.irq);
  updateState(ctx, vm, "READY");
  return reply("OK");
};

/**
 * VM_START: READY -> RUNNING (vm_mgnt.c:622-686): the RM accepts the VM's parcels itself
 * (process_memparcels: any failure NORESOURCE), applies its DT overlay (rm/overlay.ts), copies the
 * firmware for auth ANDROID (vm_firmware.c:401-500: its own errors) and powers on the boot vCPU.
 * Any failure: INIT_FAILED.
 */
export const onVmStart: RequestHandler = (ctx, p) => {
  if (ctx.caller === VMID.HYP) return reply("DENIED");
  const vm = ownedTarget(ctx, p, "DENIED");
  if (isReply(vm)) return vm;
  if (vm.status !== "READY") return reply("VM_STATE");
  const config = vm.config!;
  const fail = (err: RmReply["err"]): RmReply => {
    updateState(ctx, vm, "INIT_FAILED");
    return reply(err);
  };
  if (!acceptForVmStart(ctx, vm, config) || !applyOverlay(ctx, vm)) return fail("NORESOURCE");
  // protected VMs (issue #6, src/model/rm/protected.ts): pvmfw registered, copied, one boot vCPU.
  const fwErr = protectedStartCheck(ctx, vm);
  if (fwErr !== null) return fail(fwErr);
  if (vm.vcpus.ids.length === 0) return fail("NORESOURCE");
  const boot = vm.vcpus.byId[0]!;
  boot.power = "on";
  boot.pc = config.baseAddress + vm.imageOffset;
  boot.x0 = config.baseAddress + vm.dtOffset;
  protectedStarted(ctx, vm); // protected VMs (issue #6): copy pvmfw, boot vCPU at pvmfw's entry
  powerOn(ctx.s, ctx.s.rm.hv!.vms[vm.vmid]!.vcpus[0]!, boot.pc, boot.x0);
  applyBootContext(ctx.s, vm, ctx.s.rm.hv!.vms[vm.vmid]!.vcpus[0]!); // issue 17: VM_SET_CONTEXT
  vm.boots += 1;
  vm.exit = null;
  updateState(ctx, vm, "RUNNING");
  return reply("OK");
};

/**
 * vm_config_handle_exit (RM:src/vm_config/vm_config.c:5534-5596, kill_all_vcpus and wait_for_vcpu_exit): every vCPU is killed, then run
 * until it has exited: the RM's own vcpu_run of a proxy-scheduled vCPU unwinds it (POWERED_OFF,
 * exited); a vCPU the RM cannot run (a non-proxy one) is polled with vcpu_run_check and, in the
 * model, has exited already (its unwind needs no guest event: vcpu/lifecycle.ts).
 */
export function handleExit(ctx: RmCtx, hv: VmHv): void {
  const rm = ctx.s.rm.hv!;
  for (const cap of hv.rmVcpuCaps) hvcAs(ctx.s, VMID.RM, rm.thread, rm.cspace, "vcpu_kill", [cap]);
  for (let i = 0; i < hv.vcpus.length; i++) {
    const t = objectAs(ctx.s, hv.vcpus[i]!, "thread");
    if (t === undefined || t.threadState === "EXITED") continue;
    const cap = hv.rmVcpuCaps[i] ?? 0;
    hvcAs(ctx.s, VMID.RM, rm.thread, rm.cspace, t.proxy ? "vcpu_run" : "vcpu_run_check", [cap, 0, 0, 0]);
  }
}

/** Moves a VM to EXITED and tells its owner why (vm_mgnt_send_exited: reason word 0 = flags | code << 16, vm_mgnt.c:173-220). */
export function exitVm(ctx: RmCtx, vm: RmVm, type: ExitType, exitFlags: number, exitCode: number, extra: readonly number[] = []): void {
  for (const id of vm.vcpus.ids) vm.vcpus.byId[id]!.power = "off";
  const hv = ctx.s.rm.hv?.vms[vm.vmid];
  if (hv !== undefined) handleExit(ctx, hv);
  updateState(ctx, vm, "EXITED");
  const reason = [exitReasonWord0(exitFlags, exitCode), ...extra];
  vm.exit = { type: EXIT_TYPE[type], reason };
  notify(ctx, vm.owner, "NOTIFY_VM_EXITED", encodeVmExited({ vmid: vm.vmid, exitType: EXIT_TYPE[type], reason }));
}

/** Can the VM go to EXITED? RUNNING/PAUSED and neither no-shutdown nor crash-fatal (vm_mgnt.c:135-139). */
export function canExit(vm: RmVm): boolean {
  const c = vm.config;
  return edgeAllowed(vm.status, "EXITED") && !(c?.noShutdown ?? false) && !(c?.crashFatal ?? false);
}

/** VM_STOP (vm_mgnt.c:688-747): owner (else VMID_INVALID); FORCE exits it (VM_STOP_FORCED), else NOTIFY_VM_SHUTDOWN to the VM. */
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
 * VM_RESET (vm_mgnt.c:833-893): owner (else VMID_INVALID); refused for a no-reset VM
 * (DENIED; crash-fatal implies it, vm_config_parser.c:408-413); from EXITED, READY or INIT_FAILED
 * (else VM_STATE). A VM that has not exited is stopped first (its vCPUs killed and run out). Then
 * RESETTING and the reset stages: DESTROY_VDEVICES, RELEASE_MEMPARCELS (each accepted parcel
 * released, last first, MEM_RELEASED to its owner), RELEASE_IRQS, DESTROY_VM (every hypervisor
 * object of the VM), CLEANUP_VM, COMPLETED: RESET, and the VM loses all its peers. The RM runs the
 * stages from its event loop; the model completes them within the request.
 */
export const onVmReset: RequestHandler = (ctx, p) => {
  const vm = ownedTarget(ctx, p, "VMID_INVALID");
  if (isReply(vm)) return vm;
  if (vm.config?.noReset === true) return reply("DENIED");
  if (!edgeAllowed(vm.status, "RESETTING")) return reply("VM_STATE");
  const hv = ctx.s.rm.hv!.vms[vm.vmid];
  if (vm.status !== "EXITED" && hv !== undefined && vm.config !== null) handleExit(ctx, hv);
  updateState(ctx, vm, "RESETTING");
  releaseAllAccepted(ctx, vm);
  releaseAllIrqs(ctx, vm.vmid);
  destroyVmObjects(ctx.s, vm.vmid);
  vm.vcpus = { ids: [], byId: {} };
  vm.config = null;
  vm.osStatus = OS_STATUS.NONE;
  vm.appStatus = 0;
  vm.crashMsg = null;
  vm.memSize = 0;
  vm.ipaUsed = [];
  updateState(ctx, vm, "RESET");
  deregisterAllPeers(ctx.s, vm.vmid);
  return reply("OK");
};

/** VM_EXIT from the guest about itself (vm_mgnt.c:749-831): exit_code 0, 1, 3 or 4 and res0 0, else MSG_INVALID. */
export const onVmExit: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmExit(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("VMID_INVALID");
  if (vm.config?.crashFatal === true) return reply("ARGUMENT_INVALID");
  const validCode = m.exitCode === EXIT_CODE.NORMAL || m.exitCode === EXIT_CODE.SOFTWARE_ERROR || m.exitCode === EXIT_CODE.BUS_ERROR || m.exitCode === EXIT_CODE.DEVICE_ERROR;
  if (!validCode || m.res0 !== 0) return reply("MSG_INVALID");
  if (vm.config !== null) vm.config.noShutdown = false; // a self-requested shutdown is allowed
  if (!edgeAllowed(vm.status, "EXITED")) return reply("VM_STATE");
  exitVm(ctx, vm, "VM_EXIT", m.exitFlags, m.exitCode);
  return reply("OK");
};

/** The VM a query names (0 = the caller), with the HLOS and the RM, which the model keeps no RmVm for. */
export function stateWord(ctx: RmCtx, vmid: number): number | null {
  // The HLOS is RUNNING from boot (RM:src/vm_creation/hlos_vm.c:707); the RM's own vm_t stays in
  // the LOAD that vm_mgnt_new_vm gives every VM (vm_mgnt.c:307, :417-425).
  if (vmid === VMID.HLOS) return VM_STATUS.RUNNING;
  if (vmid === VMID.RM) return VM_STATUS.LOAD;
  const vm = ctx.s.rm.vms.byId[vmid];
  return vm === undefined ? null : VM_STATUS[vm.status] | (vm.osStatus << 8) | (vm.appStatus << 16);
}

/** VM_GET_STATE (vm_mgnt.c:895-933): self, owner or any peer may ask (is_vm_query_allowed). */
export const onVmGetState: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vmid = m.vmid === 0 ? ctx.caller : m.vmid;
  const word = stateWord(ctx, vmid);
  if (word === null) return reply("NORESOURCE");
  if (!isQueryAllowed(ctx.s, vmid, ctx.caller)) return reply("DENIED");
  return reply("OK", u32(word));
};

/** VM_SET_STATUS (vm_mgnt.c:935-998): only static secondary VMIDs (< 64) may report (§11.6). */
export const onVmSetStatus: RequestHandler = (ctx, p) => {
  if (ctx.caller >= 64 || ctx.caller === VMID.HYP || ctx.caller === VMID.HLOS) return reply("DENIED");
  if (p.length !== 4) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("NORESOURCE");
  const os = p[1]!;
  if (os > OS_STATUS.CRASHED) return reply("ARGUMENT_INVALID");
  if (os !== OS_STATUS.NONE) vm.osStatus = os;
  vm.appStatus = p[2]! | (p[3]! << 8);
  sendState(ctx, vm);
  return reply("OK");
};

export const onVmGetVmid: RequestHandler = (ctx, p) => (p.length === 0 ? reply("OK", u32(ctx.caller)) : reply("MSG_INVALID"));

/** VM_GET_OWNER (vm_mgnt.c:1787-1811): the caller's owner (the RM owns the HLOS). */
export const onVmGetOwner: RequestHandler = (ctx, p) => {
  if (p.length !== 0) return reply("MSG_INVALID");
  return reply("OK", u32(ctx.caller === VMID.HLOS ? VMID.RM : (ctx.s.rm.vms.byId[ctx.caller]?.owner ?? VMID.RM)));
};

/** VM_GET_PEERS (vm_mgnt.c:1813-1856): u32 count, then the caller's peers in registration order. */
export const onVmGetPeers: RequestHandler = (ctx, p) => {
  if (p.length !== 0) return reply("MSG_INVALID");
  const peers = peersOf(ctx.s, ctx.caller);
  const w = new ByteWriter().u32(peers.length);
  for (const v of peers) w.u32(v);
  return reply("OK", w.done());
};

/** VM_HOST_GET_TYPE (vm_mgnt.c:1125-1148): 0x01000164 (version 1, Gunyah + RM, AArch64). */
export const onVmHostGetType: RequestHandler = (_ctx, p) => (p.length === 0 ? reply("OK", u32(0x0100_0164)) : reply("MSG_INVALID"));

/** VM_SET_CRASH_MSG {len u16, pad, bytes padded to 4 with zeros}; truncated to 192 bytes (vm_mgnt.c:1069-1123). */
export const onVmSetCrashMsg: RequestHandler = (ctx, p) => {
  if (p.length < 4) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[ctx.caller];
  if (vm === undefined) return reply("VMID_INVALID");
  const len = p[0]! | (p[1]! << 8);
  if (Math.ceil(len / 4) * 4 + 4 !== p.length) return reply("MSG_INVALID");
  for (let i = 4 + len; i < p.length; i++) if (p[i] !== 0) return reply("MSG_INVALID");
  vm.crashMsg = String.fromCharCode(...p.subarray(4, 4 + Math.min(len, 192)));
  return reply("OK");
};

/** VM_GET_CRASH_MSG {vmid} (vm_mgnt.c:1000-1067): owner only (else VMID_INVALID); {len u16, pad, bytes padded to 4}. */
export const onVmGetCrashMsg: RequestHandler = (ctx, p) => {
  const vm = ownedTarget(ctx, p, "VMID_INVALID");
  if (isReply(vm)) return vm;
  const msg = vm.crashMsg ?? "";
  const w = new ByteWriter().u16(msg.length).u16(0);
  for (let i = 0; i < msg.length; i++) w.u8(msg.charCodeAt(i));
  return reply("OK", w.align4().done());
};

/** The halt causes the RM sees through VIRQs (a vCPU's halt VIRQ with its vcpu_run_check state, the watchdog bite). */
export type HaltCause = "PSCI_SYSTEM_OFF" | "PSCI_SYSTEM_RESET" | "VCPU_FAULT" | "WATCHDOG_BITE";

/** "SOFTWARE_ERROR if a crash message was set, else NORMAL", for every halt (vm_mgnt.c:2080-2082, 2116-2120). */
const haltCode = (vm: RmVm): number => (vm.crashMsg !== null ? EXIT_CODE.SOFTWARE_ERROR : EXIT_CODE.NORMAL);

/**
 * The RM's vCPU-halt handler for one vCPU's halt VIRQ (vcpu_halt_callback, vm_mgnt.c:2096-2183):
 * ignored once the VM has exited; otherwise the vCPU's vcpu_run_check state picks the exit:
 * POWERED_OFF -> PLATFORM_OFF; PSCI_SYSTEM_RESET -> PLATFORM_RESET (state_data_0 bit 63) or
 * PSCI_SYSTEM_RESET2 with reset type and cookie words, exit_flags bit 15 for the 64-bit call (and
 * nothing else: no RESTART); FAULT -> SOFTWARE_ERROR; anything else SOFTWARE_ERROR with
 * UNKNOWN_ERROR. The exit code is SOFTWARE_ERROR when a crash message was set. False: no exit.
 */
export function onVcpuHaltVirq(ctx: RmCtx, vm: RmVm, threadId: number): { cause: HaltCause | "PSCI_SYSTEM_RESET2" | "UNKNOWN"; exited: boolean } {
  const t = objectAs(ctx.s, threadId, "thread");
  const run = t === undefined ? null : pendingRunState(ctx.s, t);
  if (!canExit(vm)) return { cause: "UNKNOWN", exited: false };
  const code = haltCode(vm);
  if (run?.state === VCPU_RUN_STATE.POWERED_OFF) {
    exitVm(ctx, vm, "PLATFORM_OFF", 0, code);
    return { cause: "PSCI_SYSTEM_OFF", exited: true };
  }
  if (run?.state === VCPU_RUN_STATE.PSCI_SYSTEM_RESET) {
    const d0 = run.data[0];
    if ((d0 >> 63n) !== 0n) {
      exitVm(ctx, vm, "PLATFORM_RESET", 0, code);
      return { cause: "PSCI_SYSTEM_RESET", exited: true };
    }
    const wide = ((d0 >> 62n) & 1n) === 1n;
    const cookie = wide ? run.data[1] : run.data[1] & 0xffff_ffffn;
    exitVm(ctx, vm, "PSCI_SYSTEM_RESET2", wide ? 0x8000 : 0, code, [Number(d0 & 0xffff_ffffn), Number(cookie & 0xffff_ffffn), Number(cookie >> 32n)]);
    return { cause: "PSCI_SYSTEM_RESET2", exited: true };
  }
  if (run?.state === VCPU_RUN_STATE.FAULT) {
    exitVm(ctx, vm, "SOFTWARE_ERROR", 0, code);
    return { cause: "VCPU_FAULT", exited: true };
  }
  exitVm(ctx, vm, "SOFTWARE_ERROR", 0, EXIT_CODE.UNKNOWN_ERROR);
  return { cause: "UNKNOWN", exited: true };
}

/**
 * A halt the trace names by cause (`rm_vm_halt`): the watchdog bite (watchdog_bite_callback,
 * vm_mgnt.c:2053-2093: WATCHDOG_BITE) or, for older traces, a vCPU halt by cause; the same exit
 * types, flags 0 and the crash-message exit code as the VIRQ handlers give. False: the VM cannot exit.
 */
export function onVmHalt(ctx: RmCtx, vm: RmVm, cause: HaltCause): boolean {
  if (!canExit(vm)) return false;
  const code = haltCode(vm);
  const type: ExitType = cause === "PSCI_SYSTEM_OFF" ? "PLATFORM_OFF" : cause === "PSCI_SYSTEM_RESET" ? "PLATFORM_RESET" : cause === "VCPU_FAULT" ? "SOFTWARE_ERROR" : "WATCHDOG_BITE";
  exitVm(ctx, vm, type, 0, code);
  return true;
}
