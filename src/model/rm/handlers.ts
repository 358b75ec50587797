/**
 * The RM room: decodes requests by message ID and runs their handlers in the same apply (no
 * follow-up events). Unknown or unhandled IDs get RM_ERROR_UNIMPLEMENTED, as the RM's dispatcher
 * answers them (reference §1.4).
 */
import type { RmMessageName } from "../abi/rm.ts";
import { invalidEvent } from "../../core/errors.ts";
import type { RequestHandler, RmCtx } from "./context.ts";
import type { Machine } from "../machine.ts";
import { deliverNotes, exchange } from "./transport.ts";
import * as L from "./lifecycle.ts";
import * as LK from "./lookup.ts";
import * as M from "./memparcel.ts";
import * as I from "./irq.ts";
import * as PV from "./protected.ts";
import { onVmGetHypResources } from "./resources.ts";
import * as DP from "./demand.ts";
import type { RmNotificationOut, RmRequestEvent, RmRequestOutcome, RmVmHaltEvent } from "./events.ts";
import { objectAs } from "../object/objects.ts";

export const REQUEST_HANDLERS: { readonly [N in RmMessageName]?: RequestHandler } = {
  VM_ALLOCATE: L.onVmAllocate,
  VM_DEALLOCATE: L.onVmDeallocate,
  VM_CONFIG_IMAGE: L.onVmConfigImage,
  VM_AUTH_IMAGE: L.onVmAuthImage,
  VM_INIT: L.onVmInit,
  VM_START: L.onVmStart,
  VM_STOP: L.onVmStop,
  VM_RESET: L.onVmReset,
  VM_EXIT: L.onVmExit,
  VM_GET_STATE: L.onVmGetState,
  VM_SET_STATUS: L.onVmSetStatus,
  VM_GET_VMID: L.onVmGetVmid,
  VM_GET_OWNER: L.onVmGetOwner,
  VM_GET_PEERS: L.onVmGetPeers,
  VM_HOST_GET_TYPE: L.onVmHostGetType,
  VM_SET_CRASH_MSG: L.onVmSetCrashMsg,
  VM_GET_CRASH_MSG: L.onVmGetCrashMsg,
  VM_LOOKUP_NAME: LK.onVmLookupName,
  VM_LOOKUP_URI: LK.onVmLookupUri,
  VM_LOOKUP_GUID: LK.onVmLookupGuid,
  VM_GET_ID: LK.onVmGetId,
  VM_GET_HYP_RESOURCES: onVmGetHypResources,
  // protected VMs (issue #6, src/model/rm/protected.ts): pvmfw registration and the firmware region.
  FW_SET_VM_FIRMWARE: PV.onFwSetVmFirmware,
  FW_MILESTONE: PV.onFwMilestone,
  VM_SET_FIRMWARE_MEM: PV.onVmSetFirmwareMem,
  // guest_memfd-era calls (issue 17, src/model/rm/demand.ts).
  VM_SET_CONTEXT: DP.onVmSetContext,
  VM_SET_DEMAND_PAGING: DP.onVmSetDemandPaging,
  VM_SET_ADDRESS_LAYOUT: DP.onVmSetAddressLayout,
  MEM_LEND: M.makeOnMemCreate("LEND"),
  MEM_SHARE: M.makeOnMemCreate("SHARE"),
  MEM_DONATE: M.makeOnMemCreate("DONATE"),
  MEM_ACCEPT: M.onMemAccept,
  MEM_RELEASE: M.onMemRelease,
  MEM_RECLAIM: M.onMemReclaim,
  MEM_NOTIFY: M.onMemNotify,
  MEM_APPEND: M.onMemAppend,
  VM_IRQ_LEND: I.onIrqLend,
  VM_IRQ_ACCEPT: I.onIrqAccept,
  VM_IRQ_RELEASE: I.onIrqRelease,
  VM_IRQ_RECLAIM: I.onIrqReclaim,
  VM_IRQ_NOTIFY: I.onIrqNotify,
};

/** rm_request: a client's request over its msgqueue pair, the RM's handling, the reply back (transport.ts). */
export function onRmRequest(s: Machine, ev: RmRequestEvent): RmRequestOutcome {
  if (!Number.isInteger(ev.msgId) || ev.msgId < 0 || ev.msgId > 0xffffffff || !Number.isInteger(ev.rpcSeq) || ev.rpcSeq < 0 || ev.rpcSeq > 0xffff) {
    invalidEvent(ev.seq, ev.kind, "msgId must be a u32 and rpcSeq a u16");
  }
  if (ev.payload.length > 14_616) invalidEvent(ev.seq, ev.kind, "a client cannot send more than 63 fragments");
  return exchange(s, ev, ev.vm, ev.msgId, ev.rpcSeq, ev.payload, REQUEST_HANDLERS);
}

/** rm_vm_halt: only a RUNNING VM's vCPU can halt. */
export function onRmVmHalt(s: Machine, ev: RmVmHaltEvent) {
  const vm = s.rm.vms.byId[ev.vm];
  if (vm === undefined || vm.status !== "RUNNING") invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} is not RUNNING`);
  if (vm.vcpus.byId[ev.vcpu]?.power !== "on") invalidEvent(ev.seq, ev.kind, `vCPU ${ev.vcpu} of VM ${ev.vm} is not powered on`);
  const ctx: RmCtx = { s, caller: 0, notes: [] };
  const exited = L.onVmHalt(ctx, vm, ev.cause);
  return { exited, notify: deliverNotes(s, ctx.notes, 0) };
}

/** What the RM did about a guest's vCPU halt VIRQ (`rmVcpuHalted`). */
export interface RmHaltHandled {
  readonly cause: L.HaltCause | "PSCI_SYSTEM_RESET2" | "UNKNOWN";
  readonly exited: boolean;
  readonly notify: readonly RmNotificationOut[];
}

/**
 * The RM's handler of a guest's vCPU-halt VIRQ (vcpu_halt_callback, RM:src/vm_mgnt/vm_mgnt.c:
 * 2090-2183; lifecycle.ts onVcpuHaltVirq): raised by HYP's vcpu_halted for a forced power-off
 * (PSCI SYSTEM_OFF / SYSTEM_RESET(2), src/model/vcpu/psci.ts) or an unrecoverable fault. The RM acts
 * on the first halt VIRQ: that vCPU's vcpu_run_check state picks the exit, whatever the other vCPUs
 * are doing. Null: the VM is not a RUNNING RM VM, or none of its vCPUs has halted. ⚠ The RM takes
 * its VIRQ asynchronously; the model runs this handler where the host first observes the halt (the
 * driver's VCPU_RUN, which waits for the VM_EXITED notification: reference §7.5 "POWERED_OFF while
 * the VM is alive: sleep until ...").
 */
export function rmVcpuHalted(s: Machine, vmid: number): RmHaltHandled | null {
  const vm = s.rm.vms.byId[vmid];
  const hv = s.rm.hv?.vms[vmid];
  if (vm === undefined || hv === undefined || vm.status !== "RUNNING") return null;
  const halted = hv.vcpus.find((id) => objectAs(s, id, "thread")?.halted === true);
  if (halted === undefined) return null;
  const ctx: RmCtx = { s, caller: 0, notes: [] };
  const r = L.onVcpuHaltVirq(ctx, vm, halted);
  return { cause: r.cause, exited: r.exited, notify: deliverNotes(s, ctx.notes, 0) };
}
