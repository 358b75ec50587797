/**
 * A guest that is real AArch64 code (src/cpu): crosvm loads its image into the VM's memory, and the
 * boot vCPU then runs it with `vcpu_exec` events until it powers off. The guest decides everything
 * (which devices it probes, what it prints, when it sleeps); the driver only plays crosvm's part
 * of each exit, as the kernel's vCPU thread does: VCPU_RUN to collect a VMMIO exit, the device
 * model (`vmm_mmio`), VCPU_RUN to resume; after a WFI it lets virtual time reach the vCPU's own
 * timer and enters it again.
 */
import { parseImage } from "../../cpu/index.ts";
import { die } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import type { HostVm } from "./host.ts";
import type { Step } from "./program.ts";

/** A step that must not happen before `atLeast` ns (a timer's due time). The driver strips the field. */
export type TimedStep = Step & { readonly atLeast?: number };
export type GuestSteps = Generator<TimedStep, void, Outcome>;

/** How a CPU guest is driven: instructions per `vcpu_exec`, and a bound on the exits of one boot. */
export interface CpuGuestOptions {
  readonly budget: number;
  readonly maxExits: number;
}
export const CPU_GUEST_DEFAULTS: CpuGuestOptions = { budget: 20_000, maxExits: 100_000 };

/**
 * crosvm copies a program image (ELF PT_LOAD segments, or raw bytes at the region's start) into the
 * VM, before START. `rawAt` is the image region's base, where the boot vCPU starts.
 */
export function* loadImage(vm: HostVm, image: Uint8Array, rawAt: number): GuestSteps {
  const parsed = parseImage(image);
  // The RM starts the boot vCPU at the base of the image region, as an arm64 kernel Image expects.
  if (parsed.format === "elf" && parsed.entry !== rawAt) {
    die("SCENARIO_INVALID", `the guest image's entry point is 0x${parsed.entry.toString(16)}, but the VM boots at the start of its image region, 0x${rawAt.toString(16)}: put the entry first (guests/lib/guest.ld does)`);
  }
  const pieces = parsed.format === "raw" ? [{ address: rawAt, bytes: image }] : parsed.segments.filter((s) => s.bytes.length > 0);
  for (const p of pieces) {
    const r = yield { kind: "vmm_load_image", fd: vm.fd, guestPhysAddr: p.address, image: p.bytes };
    if (r.ret !== 0) die("SCENARIO_INVALID", `the guest image's segment at 0x${p.address.toString(16)} (${p.bytes.length} bytes) is not in memory the VMM registered for the VM (ret ${r.ret})`);
  }
}

/** Exits in a row that retire nothing at the same PC before the driver calls the guest stuck (an exception loop). */
const STUCK_EXITS = 64;

/**
 * Runs the boot vCPU (already entered by crosvm's VCPU_RUN) until the guest powers off, faults,
 * waits for an interrupt nothing will send, or `maxExits` exits pass. Returns how it stopped.
 */
export function* runCpuGuest(vm: HostVm, vcpu: number, o: CpuGuestOptions = CPU_GUEST_DEFAULTS): Generator<TimedStep, string, Outcome> {
  const run = { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu } as const;
  let stuck = 0;
  let lastPc = -1;
  for (let exits = 0; exits < o.maxExits; exits++) {
    const r = yield { kind: "vcpu_exec", vm: vm.vmid, vcpu, budget: o.budget };
    stuck = r.retired === 0 && r.pc === lastPc ? stuck + 1 : 0;
    lastPc = r.pc as number;
    if (stuck >= STUCK_EXITS) return `stuck: ${STUCK_EXITS} exits in a row at 0x${lastPc.toString(16)} without an instruction retiring`;
    switch (r.after) {
      case "running":
        continue;
      case "vmmio": {
        // crosvm's vCPU thread collects the exit; its bus handles the access; VCPU_RUN resumes (an
        // ioeventfd write was completed in the kernel inside the first call).
        const exit = yield run;
        yield { kind: "vmm_mmio", vm: vm.vmid, vcpu };
        if (exit.exit !== "IOEVENTFD") yield run;
        continue;
      }
      case "wfi": {
        yield run; // EXPECTS_WAKEUP: crosvm's thread sleeps until the wakeup VIRQ
        if (typeof r.timerDueNs !== "number") return "waits for an interrupt that nothing sends";
        yield { kind: "timer_tick", atLeast: r.timerDueNs };
        yield run;
        continue;
      }
      default:
        return String(r.after);
    }
  }
  return `still running after ${o.maxExits} exits`;
}
