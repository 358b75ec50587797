/**
 * The protected-VM room's handlers: the VMM loading a payload, pvmfw's boot (reference
 * avf-protected-vm.md §2.5), the host reading its own memory (the isolation probe), and PV time.
 */
import { invalidEvent } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import { EXIT_CODE, VMID } from "../abi/rm.ts";
import type { RmCtx } from "../rm/context.ts";
import { exitVm } from "../rm/lifecycle.ts";
import { labelOf, physPieces, reaches, readIpa, setLabel, writePhys } from "../rm/content.ts";
import { parseDt } from "../rm/overlay.ts";
import { translate } from "../memory/stage2.ts";
import type { Machine } from "../machine.ts";
import { hostAddr } from "../vmm/ioctl.ts";
import { vmmVmByVmid } from "../vmm/state.ts";
import { defectOn } from "../faults.ts";
import { advanceRollback } from "../pvmfw/rollback.ts";
import { toHex } from "../pvmfw/avb-format.ts";
import {
  avbResultCode,
  encodeHandover,
  payloadFacts,
  PVMFW_FDT_MAX,
  pvmfwCheckFdt,
  pvmfwDecide,
  pvmfwNextHandover,
  pvmfwReasonCode,
  pvmfwReasonString,
} from "../pvmfw/boot.ts";
import { cborDecode } from "../pvmfw/dice-cbor.ts";
import { pvmOf } from "./state.ts";
import { jumpTo } from "../vcpu/context.ts";
import { readStolenRecord } from "../vcpu/pv-time.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import type { HostReadEvent, PvmfwBootEvent, PvmLoadImageEvent, PvTimeEvent } from "./events.ts";

type ProtectedSlices = Machine;

/**
 * pvmfw's failure as the host sees it. pvmfw writes the reason on UART 1 and requests a reset
 * (reference §2.5). hvsim's pvmfw makes that request with PSCI SYSTEM_RESET2 and a vendor reset
 * type, so the RM's NOTIFY_VM_EXITED carries the reason (exit_type PSCI_SYSTEM_RESET2 = 3; reason
 * words: [flags (bit 15: the 64-bit call), reset_type, cookie_lo, cookie_hi],
 * RM:src/vm_mgnt/vm_mgnt.c:2128-2155) instead of only on the console pipe. The vendor reset type is hvsim's.
 */
export const PVMFW_FAILURE_RESET_TYPE = 0x8000_0001;

/** pvm_load_image: before START, into a region the VMM registered for that VM; the host writes it. */
export function onPvmLoadImage(s: ProtectedSlices, ev: PvmLoadImageEvent): Outcome {
  const plat = s.pvm.platform;
  if (plat === null) invalidEvent(ev.seq, ev.kind, "the platform has no protected-VM support (config.protected is absent)");
  const vmm = vmmVmByVmid(s, ev.vm);
  if (vmm === undefined || vmm.status !== "LOAD") invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no VMM VM in LOAD`);
  if (ev.image.length === 0 || ev.image.length > 0x400_0000) invalidEvent(ev.seq, ev.kind, "an image is 1 byte to 64 MiB");
  const host = hostAddr(vmm, ev.gpa, ev.image.length);
  if (host === null || !reaches(s, VMID.HLOS, host, ev.image.length, 2)) {
    invalidEvent(ev.seq, ev.kind, `GPA 0x${ev.gpa.toString(16)}+${ev.image.length} is not in host memory the VMM registered for VM ${ev.vm}`);
  }
  const pa = translate(s, VMID.HLOS, host)!.pa;
  // crosvm copies the image through its mapping: the bytes are in the VM's memory (real code runs
  // from them once pvmfw jumps to the payload).
  let off = 0;
  for (const p of physPieces(s, VMID.HLOS, host, ev.image.length)!) {
    writePhys(s, p.pa, ev.image.subarray(off, off + p.size), `vm${VMID.HLOS}`);
    off += p.size;
  }
  const facts = payloadFacts(ev.image, plat.trustedKey);
  pvmOf(s, ev.vm).payload = { ...facts, gpa: ev.gpa, instanceId: ev.instanceId };
  return { avb: facts.avb, rollbackIndex: facts.rollbackIndex, sha256: facts.sha256, size: facts.size, pa };
}

/** pvmfw_boot: VERIFY → ROLLBACK → DICE → jump, or the reboot reason and a reset. */
export function onPvmfwBoot(s: ProtectedSlices, ev: PvmfwBootEvent): Outcome {
  const rmVm = s.rm.vms.byId[ev.vm];
  const p = s.pvm.vms.byId[ev.vm];
  if (rmVm === undefined || rmVm.status !== "RUNNING" || p === undefined || p.stage !== "firmware") {
    invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} is not a running protected VM in pvmfw`);
  }
  if (rmVm.vcpus.ids[0] !== ev.vcpu || rmVm.vcpus.byId[ev.vcpu]?.power !== "on") invalidEvent(ev.seq, ev.kind, `vCPU ${ev.vcpu} is not VM ${ev.vm}'s running boot vCPU`);
  const plat = s.pvm.platform!;
  const payload = p.payload;
  // The FDT stage comes before VERIFY (§2.5): the DT pvmfw checks is the one the RM wrote at VM_START.
  const fdtWrong = pvmfwCheckFdt(readDtAtX0(s, ev.vm, rmVm.config?.baseAddress ?? 0, rmVm.dtOffset, rmVm.dtSize));
  const decision =
    fdtWrong !== null
      ? ({ ok: false, reason: "InvalidFdt", avb: "OK", detail: fdtWrong } as const)
      : payload === null
        ? ({ ok: false, reason: "InvalidPayload", avb: "ERROR_IO", detail: "no payload was loaded at the image IPA" } as const)
        : pvmfwDecide(payload, plat.rollback, defectOn(s, "rollback-check-skipped"));
  if (!decision.ok) {
    const uart = pvmfwReasonString(decision.reason);
    p.stage = "refused";
    p.refusal = { reason: decision.reason, uart, avb: decision.avb, detail: decision.detail };
    const ctx: RmCtx = { s, caller: ev.vm, notes: [] };
    // The RM's vCPU-halt handler for a 64-bit SYSTEM_RESET2: exit_flags bit 15 only, exit code from
    // the crash message (RM:src/vm_mgnt/vm_mgnt.c:2128-2155).
    exitVm(ctx, rmVm, "PSCI_SYSTEM_RESET2", 0x8000, rmVm.crashMsg !== null ? EXIT_CODE.SOFTWARE_ERROR : EXIT_CODE.NORMAL, [PVMFW_FAILURE_RESET_TYPE, pvmfwReasonCode(decision.reason), avbResultCode(decision.avb)]);
    return {
      result: "refused",
      reason: decision.reason,
      uart,
      avb: decision.avb,
      detail: decision.detail,
      notify: ctx.notes.map((n) => ({ to: n.to, msg: n.msg, data: n.payload })),
    };
  }
  const f = payload!;
  const handover = pvmfwNextHandover(plat.handover, f, f.instanceId, decision.rollbackIndex, plat.trustedKey);
  const bytes = encodeHandover(handover);
  const tr = translate(s, ev.vm, p.handoverIpa);
  if (tr === null || bytes.length > 0x1000) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no memory at its handover IPA 0x${p.handoverIpa.toString(16)}`);
  // The handover page is the pVM's own data from now on (reserved memory, "google,open-dice").
  writePhys(s, tr.pa, bytes, `vm${ev.vm}`);
  p.handover = handover;
  p.boot = { rollbackIndex: decision.rollbackIndex, storedAtBoot: decision.stored, codeHash: codeHashOf(handover.certificates[handover.certificates.length - 1]!) };
  // The rollback store moves forward only now, after a good boot (reference §2.9).
  plat.rollback = advanceRollback(plat.rollback, { ok: true, rollbackIndex: decision.rollbackIndex, rollbackIndexLocation: f.rollbackIndexLocation }, plat.rollbackKey);
  p.stage = "payload";
  // The jump (§2.5 JUMP): PC = kernel entry, X0 = the DTB; the RM's record and the vCPU thread agree.
  const boot = rmVm.vcpus.byId[ev.vcpu]!;
  boot.pc = f.gpa;
  boot.x0 = (rmVm.config?.baseAddress ?? 0) + rmVm.dtOffset;
  const tid = s.rm.hv?.vms[ev.vm]?.vcpus[ev.vcpu];
  const t = tid === undefined ? undefined : s.objects.byId[tid];
  if (t !== undefined && t.type === "thread") {
    jumpTo(t, BigInt(boot.pc), BigInt(boot.x0));
  }
  return {
    result: "payload",
    rollbackIndex: decision.rollbackIndex,
    stored: decision.stored,
    codeHash: p.boot.codeHash,
    handoverIpa: p.handoverIpa,
    chainLength: handover.certificates.length + 1,
    entry: f.gpa,
  };
}

/** The DT pvmfw maps at X0 (the image's DT offset above base-address), through the pVM's stage-2; null if unreachable. */
function readDtAtX0(s: ProtectedSlices, vm: number, base: number, dtOffset: number, dtSize: number): Record<string, unknown> | null {
  const size = Math.min(dtSize, PVMFW_FDT_MAX);
  const out = size === 0 ? null : readIpa(s, vm, base + dtOffset, size);
  return out === null ? null : parseDt(out);
}

/** The code hash claim (-4670545) of a certificate (hex). */
function codeHashOf(cert: Uint8Array): string {
  const s1 = cborDecode(cert);
  const payload = Array.isArray(s1) ? (s1[2] as unknown) : null;
  const claims = payload instanceof Uint8Array ? cborDecode(payload) : null;
  const code = claims instanceof Map ? (claims.get(-4670545) as unknown) : null;
  return code instanceof Uint8Array ? toHex(code) : "";
}

/** host_read: satisfied through the host's stage-2, or an abort injected into the host. */
export function onHostRead(s: ProtectedSlices, ev: HostReadEvent): Outcome {
  if (!Number.isSafeInteger(ev.ipa) || ev.ipa < 0 || ![1, 2, 4, 8].includes(ev.sizeBytes)) invalidEvent(ev.seq, ev.kind, "a host read is 1, 2, 4 or 8 bytes at a non-negative IPA");
  const tr = translate(s, VMID.HLOS, ev.ipa);
  if (tr === null || (tr.access & 4) === 0) return { result: "abort", fault: tr === null ? "translation" : "permission", injected: "synchronous_external_abort" };
  const label = labelOf(s, tr.pa);
  s.pvm.hostRead = { pa: tr.pa, label };
  return { result: "ok", pa: tr.pa, label };
}

/**
 * pv_time: the guest reads its stolen-time record (the u64 at +8 of its pv_time_data, which the
 * hypervisor stores at each switch-in: src/model/vcpu/pv-time.ts); the protected room keeps what it
 * read. Outcome `{ ipa, stolenNs, hypStolenNs }`: what the guest read, and the hypervisor's own count
 * at the same event, current stretch included (equal while the vCPU runs: invariant
 * scheduler.pv_time_record_current).
 */
export function onPvTime(s: ProtectedSlices, ev: PvTimeEvent): Outcome {
  const p = s.pvm.vms.byId[ev.vm];
  const rec = p?.pvtime ?? null;
  if (rec === null || !Number.isInteger(ev.vcpu) || ev.vcpu < 0 || ev.vcpu >= rec.stolenNs.length) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no PV-time record for vCPU ${ev.vcpu}`);
  const t = vcpuThread(s, ev.vm, ev.vcpu);
  const stolenNs = t === null ? rec.stolenNs[ev.vcpu]! : (readStolenRecord(s, t) ?? rec.stolenNs[ev.vcpu]!);
  rec.stolenNs[ev.vcpu] = stolenNs;
  const hypStolenNs = t === null ? stolenNs : t.acct.stolenNs + (t.acct.status === "stolen" ? s.t - t.acct.since : 0);
  // pv_time_data entries are 64-byte aligned, indexed by the vCPU (reference §8, GH:hyp/vm/arm_pv_time).
  return { ipa: rec.ipa + 64 * ev.vcpu, stolenNs, hypStolenNs };
}

function vcpuThread(s: ProtectedSlices, vm: number, vcpu: number): ThreadObject | null {
  const id = s.vms[vm]?.vcpus[vcpu];
  const t = id === undefined ? undefined : s.objects.byId[id];
  return t === undefined || t.type !== "thread" ? null : t;
}
