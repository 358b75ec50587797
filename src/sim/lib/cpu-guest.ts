/**
 * A guest that is real AArch64 code (src/cpu): crosvm loads its image into the VM's memory, and the
 * boot vCPU then runs it with `vcpu_exec` events until it powers off. The guest decides everything
 * (which devices it probes, what it prints, which RM calls it makes, when it sleeps); the driver
 * only plays the parts around it:
 *   - crosvm's vCPU thread at each exit, as the kernel's vCPU loop does: VCPU_RUN to collect a
 *     VMMIO exit, the device model (`vmm_mmio`), VCPU_RUN to resume; after a WFI, VCPU_RUN sleeps
 *     until the vCPU's own timer is due (a `timer_tick` then raises PPI 27) or until another
 *     actor's event wakes it (a device interrupt, an RM notification);
 *   - the RM's vCPU, which runs beside the guest on CPU 0: after any run that left a packet in the
 *     RM's queue from this VM (the guest's own `msgqueue_send` HVCs), `rm_service` takes it.
 * Virtual time: a run of R instructions lasts R ns (`GUEST_INSNS_PER_NS`), so the actor sleeps R
 * before its next step. The driver looks at the machine only through `wait` guards (the scheduler
 * evaluates them on the current state); it never changes it.
 */
import { parseImage } from "../../cpu/index.ts";
import { die } from "../../core/errors.ts";
import type { Machine } from "../../model/machine.ts";
import { rmHasWork } from "../../model/rm/service.ts";
import type { HostVm } from "./host.ts";
import { vmRunning } from "./host.ts";
import { vcpuEnterable } from "./proxy.ts";
import { sleep, wait, type Program, type Step } from "./program.ts";

/**
 * How a CPU guest is driven: instructions per `vcpu_exec`, a bound on the exits of one boot and,
 * optionally, on the instructions it may retire in all (hostile code, which never powers off).
 */
export interface CpuGuestOptions {
  readonly budget: number;
  readonly maxExits: number;
  readonly maxInstructions?: number;
}
/** A budget no guest run between two exits reaches in the built-ins: one event per run. */
export const CPU_GUEST_DEFAULTS: CpuGuestOptions = { budget: 1_000_000, maxExits: 100_000 };

/**
 * The pieces crosvm copies into the VM for a program image (ELF PT_LOAD segments, or raw bytes at
 * `rawAt`, the image region's base, where the boot vCPU starts). Refuses, with one line, an image
 * that does not parse or an ELF whose entry is not `rawAt`.
 */
export function imagePieces(image: Uint8Array, rawAt: number): readonly { readonly address: number; readonly bytes: Uint8Array }[] {
  const parsed = parseImage(image);
  // The RM starts the boot vCPU at the base of the image region, as an arm64 kernel Image expects.
  if (parsed.format === "elf" && parsed.entry !== rawAt) {
    die("SCENARIO_INVALID", `the guest image's entry point is 0x${parsed.entry.toString(16)}, but the VM boots at the start of its image region, 0x${rawAt.toString(16)}: put the entry first (guests/lib/guest.ld does)`);
  }
  return parsed.format === "raw" ? [{ address: rawAt, bytes: image }] : parsed.segments.filter((seg) => seg.bytes.length > 0);
}

/** crosvm copies a program image (see `imagePieces`) into the VM, before START. */
export function* loadImage(vm: HostVm, image: Uint8Array, rawAt: number): Program {
  for (const p of imagePieces(image, rawAt)) {
    const r = yield { kind: "vmm_load_image", fd: vm.fd, guestPhysAddr: p.address, image: p.bytes };
    if (r.ret !== 0) die("SCENARIO_INVALID", `the guest image's segment at 0x${p.address.toString(16)} (${p.bytes.length} bytes) is not in memory the VMM registered for the VM (ret ${r.ret})`);
  }
}

/** Exits in a row that retire nothing at the same PC before the driver calls the guest stuck (an exception loop). */
const STUCK_EXITS = 64;

/**
 * An ELF's loadable segments as one flat image from the lowest address (what `objcopy -O binary`
 * makes, gaps zero-filled): the bytes a boot loader puts in memory, and what an AVB image signs.
 */
export function flatImage(image: Uint8Array): { readonly address: number; readonly bytes: Uint8Array } {
  const parsed = parseImage(image);
  if (parsed.format === "raw") return { address: 0, bytes: image };
  const segs = parsed.segments.filter((s) => s.bytes.length > 0);
  const lo = Math.min(...segs.map((s) => s.address));
  const hi = Math.max(...segs.map((s) => s.address + s.bytes.length));
  const bytes = new Uint8Array(hi - lo);
  for (const s of segs) bytes.set(s.bytes, s.address - lo);
  return { address: lo, bytes };
}

/** Reads something off the current state (a `wait` that holds at once). */
function* peek<T>(why: string, f: (s: Machine) => T): Program<T> {
  let v: T | undefined;
  yield wait(why, (s) => ((v = f(s)), true));
  return v as T;
}

const entered = (o: { readonly state?: unknown }): boolean => o.state === "READY" || o.state === "RUNNING";

/**
 * Runs the boot vCPU (already entered by crosvm's VCPU_RUN) until the guest powers off, faults,
 * waits for an interrupt nothing will send, or `maxExits` exits pass. Returns how it stopped.
 */
export function* runCpuGuest(vm: HostVm, vcpu: number, o: CpuGuestOptions = CPU_GUEST_DEFAULTS): Program<string> {
  const run: Step = { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu };
  let stuck = 0;
  let lastPc = -1;
  let retired = 0;
  const most = o.maxInstructions ?? Number.POSITIVE_INFINITY;
  for (let exits = 0; exits < o.maxExits; exits++) {
    if (retired >= most) return `ran its ${most} instructions`;
    const r = yield { kind: "vcpu_exec", vm: vm.vmid, vcpu, budget: Math.min(o.budget, most - retired) };
    retired += typeof r.retired === "number" ? r.retired : 0;
    stuck = r.retired === 0 && r.pc === lastPc ? stuck + 1 : 0;
    lastPc = r.pc as number;
    if (stuck >= STUCK_EXITS) return `stuck: ${STUCK_EXITS} exits in a row at 0x${lastPc.toString(16)} without an instruction retiring`;
    if (typeof r.retired === "number" && r.retired > 0) yield sleep(r.retired);
    if (yield* peek("the RM's queue from the guest", (s) => rmHasWork(s, vm.vmid))) yield { kind: "rm_service", vm: vm.vmid };
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
        const woke = yield* waitForWakeup(vm, vcpu, typeof r.timerDueNs === "number" ? r.timerDueNs : null);
        if (!woke) return "waits for an interrupt that nothing sends";
        continue;
      }
      default:
        return String(r.after);
    }
  }
  return `still running after ${o.maxExits} exits`;
}

/**
 * After a blocking WFI: crosvm's VCPU_RUN returns EXPECTS_WAKEUP unless a VIRQ is already
 * deliverable; its thread then sleeps until the wakeup VIRQ. If the vCPU's timer is armed, time
 * runs to its due moment and the `timer_tick` raises PPI 27; otherwise the thread waits for another
 * actor to make a VIRQ deliverable (false if the VM went down meanwhile). ⚠ With a timer armed
 * the thread sleeps until it is due even if another VIRQ came first (the scheduler has no wait
 * with a deadline); the guest sees that interrupt a little late, never wrongly.
 */
function* waitForWakeup(vm: HostVm, vcpu: number, timerDueNs: number | null): Program<boolean> {
  const run: Step = { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu };
  for (let i = 0; i < 4; i++) {
    if (entered(yield run)) return true;
    if (timerDueNs !== null) {
      const now = yield* peek("the clock", (s) => s.t);
      if (timerDueNs > now) yield sleep(timerDueNs - now);
      yield { kind: "timer_tick" };
      timerDueNs = null;
      continue;
    }
    yield wait(`vm${vm.vmid} vCPU ${vcpu} woken`, (s) => vcpuEnterable(s, vm.vmid, vcpu) || !vmRunning(s, vm.vmid));
    if (yield* peek("the VM is up", (s) => !vmRunning(s, vm.vmid))) return false;
  }
  return false;
}
