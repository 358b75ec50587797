/**
 * pvm-stolen-time (issue 17): a protected VM whose vCPU is held back by its host. The pVM's vCPU
 * only runs inside the vcpu_run of the HLOS vCPU that runs crosvm's vCPU thread for it (proxy
 * scheduling). When that HLOS CPU's slice ends the directed yield ends (the hypervisor's timer), and
 * other HLOS threads get the CPU before crosvm's vCPU thread calls VCPU_RUN again: the pVM's vCPU is
 * runnable but not running, which Gunyah accounts as stolen (GH:hyp/vm/arm_pv_time/src/arm_pv_time.c:
 * 123-199) and stores in the vCPU's PV-time record when it is switched back in (:140-182). The
 * guest finds the record with SMCCC PV_TIME_FEATURES / PV_TIME_ST (0xC5000020 / 0xC5000021, Arm
 * DEN0057A; Linux arch/arm64/kernel/paravirt.c probes FEATURES(ST) then asks ST for the IPA) and
 * reads stolen_ns (`pv_time`). An uncontended phase first (block I/O whose waits are the vCPU's
 * own VMMIO blocks: nothing is stolen), then contended rounds.
 */
import type { Prng } from "../prng.ts";

/** The SMCCC standard-hypervisor PV time calls, SMC64 (DEN0057A §2; GH:hyp/vm/arm_pv_time/arm_pv_time.ev). */
const PV_TIME_CALLS = { PV_TIME_FEATURES: 0xc500_0020n, PV_TIME_ST: 0xc500_0021n } as const;
import type { Program } from "../lib/program.ts";
import { sleep } from "../lib/program.ts";
import type { HostVm } from "../lib/host.ts";
import { MS } from "../../core/event.ts";
import type { Scenario } from "../scenario.ts";
import { PVM_PLAN, blockIos, createPvm, guestCtx, kernelBoot, powerOff, pvmScenario, registerPvmfw, startPvm, teardown, vectorPath } from "./pvm-common.ts";

/** Contended rounds, and how long the HLOS's other threads keep the CPU each time (ns, drawn per round). */
export const STOLEN_ROUNDS = 4;
export const CONTENTION_NS = { min: 200_000, max: 900_000 } as const;

function* stolenTimeScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  const contention = stream("contention");
  yield* registerPvmfw({ seq: 0 });
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* createPvm(vm, images[0]!, "pvm-instance-1", PVM_PLAN);
  const boot = yield* startPvm(vm);
  if (boot.result === "payload") {
    const g = guestCtx(vm, data);
    // The guest kernel's pv_time_init: FEATURES(PV_TIME_ST), then ST for its record's IPA.
    yield { kind: "smccc_call", vm: vm.vmid, vcpu: 0, conduit: "hvc", args: [PV_TIME_CALLS.PV_TIME_FEATURES, PV_TIME_CALLS.PV_TIME_ST] };
    yield { kind: "smccc_call", vm: vm.vmid, vcpu: 0, conduit: "hvc", args: [PV_TIME_CALLS.PV_TIME_ST] };
    yield* kernelBoot(g, "microdroid: stolen time via PV time\n");
    // Uncontended: block I/O; the reads before and after agree.
    yield* blockIos(g, 4);
    yield { kind: "pv_time", vm: vm.vmid, vcpu: 0 };
    for (let i = 0; i < STOLEN_ROUNDS; i++) {
      // The guest computes until its HLOS CPU's 5 ms slice ends: the hypervisor's timer ends the directed yield.
      yield sleep(6 * MS);
      yield { kind: "timer_tick" };
      // Other HLOS threads hold the CPU; then crosvm's vCPU thread runs again and re-enters the vCPU.
      yield sleep(contention.rangeInclusive(CONTENTION_NS.min, CONTENTION_NS.max));
      yield { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu: 0 };
      yield { kind: "pv_time", vm: vm.vmid, vcpu: 0 };
    }
    yield* powerOff(g);
  }
  yield* teardown(vm);
}

export const pvmStolenTimeScenario: Scenario = pvmScenario({
  name: "pvm-stolen-time",
  description:
    "A protected VM under host CPU contention: each time its HLOS CPU's slice ends, other HLOS threads run before crosvm re-enters the pVM's vCPU; " +
    "Gunyah accounts that time as stolen and stores it in the vCPU's PV-time record, which the guest finds with PV_TIME_ST and reads.",
  keyFile: vectorPath("pvmfw_key_rsa2048.avbpubkey"),
  imageFiles: [vectorPath("kernel_signed_ri5.img")],
  script: stolenTimeScript,
  maxEvents: 4_000,
});
