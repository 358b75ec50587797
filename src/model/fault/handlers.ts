import { invalidEvent } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import { GIC, VCPU_OPTION } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { runningVcpu } from "../hyp/caller.ts";
import { ACCESS_BIT, s2Lookup, translate } from "../memory/stage2.ts";
import type { AddrspaceObject } from "../memory/state.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { exitRun } from "../vcpu/run.ts";
import { advancePc, syndromeFor } from "../vcpu/context.ts";
import { completeLoad, injectAbort } from "../../cpu/index.ts";
import { haltVcpu } from "../vcpu/lifecycle.ts";
import { gicdAccess, gicrAccess, type MmioResult } from "../vgic/mmio.ts";
import type { GuestAccessEvent, GuestAccessKind, Stage2FaultEvent } from "./events.ts";
import { virtioWriteFault } from "../virtio_mmio/handlers.ts";

/**
 * Stage-2 fault resolution in Gunyah's handler order (reference §5.4;
 * GH:hyp/vm/vcpu/aarch64/src/trap_dispatch.c, GH:hyp/core/vdevice/aarch64/src/vdevice.c,
 * GH:hyp/mem/addrspace/aarch64/src/vmmio.c, GH:hyp/vm/vcpu/aarch64/src/exception_inject.c):
 *  1. data aborts on a translation fault: the addrspace's vdevice table, then the fixed platform
 *     vGIC addresses (unless the VIC disabled them), then VMMIO forwarding for a proxy-scheduled
 *     vCPU whose access lies wholly in a configured range;
 *  2. translation and permission faults otherwise inject a synchronous external abort;
 *  3. other fault kinds halt the vCPU in FAULT (the hypervisor itself aborts for a critical vCPU).
 */
export function onStage2Fault(s: Machine, ev: Stage2FaultEvent): Outcome {
  const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  const as = objectAs(s, t.addrspace, "addrspace")!;
  const r = s2Lookup(as, ev.ipa);
  if (ev.fsc !== undefined) return haltInFault(s, t, ev.fsc);
  if (r !== undefined && (r.access & ACCESS_BIT[ev.access]) !== 0) {
    invalidEvent(ev.seq, ev.kind, `the stage-2 of VM ${ev.vm} maps IPA 0x${ev.ipa.toString(16)} with ${ev.access} access: no fault`);
  }
  const write = ev.access === "write";
  const value = write && validSize(ev.sizeBytes) ? BigInt.asUintN(ev.sizeBytes * 8, ev.value ?? 0n) : 0n;
  // A scripted guest's access stands for a single-register load or store of Xreg (ISV = 1).
  const iss = validSize(ev.sizeBytes) ? syndromeFor(ev.reg ?? 0, ev.sizeBytes, write) : 0;
  return resolveStage2Fault(s, t, { ipa: ev.ipa, access: ev.access, sizeBytes: ev.sizeBytes, value, iss });
}

/** A guest access the stage-2 refused, as the CPU reports it (or as a scripted stage2_fault describes it). */
export interface GuestFault {
  readonly ipa: number;
  readonly access: GuestAccessKind;
  readonly sizeBytes: number;
  /** The store's value, truncated to its size (0n for loads and fetches). */
  readonly value: bigint;
  /** The data-abort syndrome: ISV (bit 24) says whether the access can be emulated at all. */
  readonly iss: number;
}

/**
 * Gunyah's resolution of a stage-2 fault on a running vCPU (the order above). An emulated read
 * completes the instruction from its syndrome; a forwarded one waits in `vmmio` for the VMM; an
 * abort is injected into the guest's EL1. Accesses whose syndrome has no valid ISV (pairs,
 * writeback, exclusives) cannot be emulated or forwarded, as on hardware: they take the abort.
 */
export function resolveStage2Fault(s: Machine, t: ThreadObject, f: GuestFault): Outcome {
  const as = objectAs(s, t.addrspace, "addrspace")!;
  const r = s2Lookup(as, f.ipa);
  const write = f.access === "write";
  const emulatable = (f.iss & (1 << 24)) !== 0 && validSize(f.sizeBytes);
  if (r === undefined && t.proxy && as.demandPaging !== undefined && within(as.demandPaging, f.ipa, 1) >= 0) {
    // A page not yet provided in a demand-paged range (issue 17): the newer hypervisor's vcpu_run
    // reports PAGE_FAULT with [addr, write] (Linux include/linux/gunyah.h GUNYAH_VCPU_STATE_PAGE_FAULT 7;
    // reference gunyah-rm-and-host §10); the host provides the page and the access is re-executed.
    t.vmmio = { ipa: f.ipa, sizeBytes: f.sizeBytes, write, value: f.value, iss: f.iss, reported: false, demand: true };
    exitRun(s, t);
    return { resolution: "page_fault", state: "PAGE_FAULT" };
  }
  if (r === undefined && f.access !== "exec" && emulatable) {
    const emulated = emulate(s, t, as, f, write);
    if (emulated !== null) return emulated;
    if (t.proxy && inVmmio(as, f.ipa, f.sizeBytes)) {
      t.vmmio = { ipa: f.ipa, sizeBytes: f.sizeBytes, write, value: f.value, iss: f.iss, reported: false };
      exitRun(s, t);
      return { resolution: "vmmio", state: write ? "ADDRSPACE_VMMIO_WRITE" : "ADDRSPACE_VMMIO_READ" };
    }
  }
  if (r !== undefined && write && emulatable) {
    const emulated = virtioWriteFault(s, t, r, f.ipa, f.sizeBytes, f.value);
    if (emulated !== null) return emulated;
  }
  t.cpu = injectAbort(t.cpu, BigInt(f.ipa), f.access === "exec", write);
  return { resolution: "abort", fault: r === undefined ? "translation" : "permission", injected: "synchronous_external_abort" };
}

const validSize = (n: number): boolean => n === 1 || n === 2 || n === 4 || n === 8;

/** The first range holding all of [ipa, ipa+size), or -1. A plain loop: this runs on every forwarded fault. */
function within(ranges: readonly { base: number; size: number }[], ipa: number, size: number): number {
  for (let i = 0; i < ranges.length; i++) {
    const v = ranges[i]!;
    if (ipa >= v.base && ipa + size <= v.base + v.size) return i;
  }
  return -1;
}

function inVmmio(as: AddrspaceObject, ipa: number, size: number): boolean {
  return within(as.vmmio, ipa, size) >= 0;
}

/** vdevice table first, then the VIC's fixed platform addresses; `value` is the store's, truncated to its size (0n for a load). */
function emulate(s: Machine, t: ThreadObject, as: AddrspaceObject, ev: GuestFault, write: boolean): Outcome | null {
  const value = ev.value;
  let result: MmioResult | null = null;
  const vdIndex = within(as.vdevices, ev.ipa, ev.sizeBytes);
  const vd = vdIndex < 0 ? undefined : as.vdevices[vdIndex];
  if (vd !== undefined) {
    const vic = objectAs(s, vd.vic, "vic")!;
    const off = ev.ipa - vd.base;
    result = vd.index === 0 ? gicdAccess(s, vic, off, write, ev.sizeBytes, value) : gicrAccess(s, vic, objectAs(s, vic.vcpus[vd.index - 1] ?? 0, "thread"), off, write, ev.sizeBytes, value);
  } else {
    const vic = objectAs(s, t.vic, "vic");
    if (vic === undefined || (vic.options & 2) !== 0) return null;
    const gicdEnd = GIC.GICD_BASE + GIC.GICD_SIZE;
    const gicrEnd = GIC.GICR_BASE + GIC.GICR_STRIDE * vic.maxVcpus;
    if (ev.ipa >= GIC.GICD_BASE && ev.ipa + ev.sizeBytes <= gicdEnd) result = gicdAccess(s, vic, ev.ipa - GIC.GICD_BASE, write, ev.sizeBytes, value);
    else if (ev.ipa >= GIC.GICR_BASE && ev.ipa + ev.sizeBytes <= gicrEnd) {
      const index = Math.floor((ev.ipa - GIC.GICR_BASE) / GIC.GICR_STRIDE);
      const owner = objectAs(s, vic.vcpus[index] ?? 0, "thread");
      result = gicrAccess(s, vic, owner, (ev.ipa - GIC.GICR_BASE) % GIC.GICR_STRIDE, write, ev.sizeBytes, value);
    }
  }
  if (result === null) return null;
  if (!write && result.value !== undefined) t.cpu = completeLoad(t.cpu, ev.iss, result.value)!;
  else advancePc(t);
  return { resolution: "emulated", reg: result.reg, ...(result.value === undefined ? {} : { value: BigInt.asUintN(ev.sizeBytes * 8, result.value) }) };
}

function haltInFault(s: Machine, t: ThreadObject, fsc: string): Outcome {
  if ((t.options & (VCPU_OPTION.critical | VCPU_OPTION.hlos_vm)) !== 0n) {
    // Gunyah panics on an unrecoverable fault of a critical vCPU: nothing further is modelled.
    return { resolution: "hypervisor_abort", fsc };
  }
  t.fault = true;
  haltVcpu(s, t); // block VCPU_FAULT, then vcpu_halted (GH:hyp/vm/vcpu/aarch64/src/exception_inject.c:268-279)
  return { resolution: "fault", fsc };
}

/** guest_access: the stage-2 must satisfy it; the outcome names the physical page and its owner. */
export function onGuestAccess(s: Machine, ev: GuestAccessEvent): Outcome {
  runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  const tr = translate(s, ev.vm, ev.ipa);
  if (tr === null || (tr.access & ACCESS_BIT[ev.access]) === 0) {
    invalidEvent(ev.seq, ev.kind, `the stage-2 of VM ${ev.vm} does not allow ${ev.access} at IPA 0x${ev.ipa.toString(16)}: that access faults (stage2_fault)`);
  }
  return { pa: tr.pa, owner: tr.owner === null ? null : { type: tr.owner.type, id: tr.owner.id }, memextent: tr.memextent };
}
