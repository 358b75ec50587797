/**
 * The AVF protected-VM built-ins (issue #6): pvm-boot (the default scenario), pvm-compile,
 * pvm-tampered, pvm-rollback, pvm-host-read, pvm-dma, and one bug-<defect> scenario per model
 * defect (src/model/faults.ts), each caught by an isolation invariant at a fixed event index.
 * docs/protected-vms.md describes each.
 */
import type { Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import type { ModelDefect } from "../../model/faults.ts";
import type { Program } from "../lib/program.ts";
import type { HostVm } from "../lib/host.ts";
import { compileAndSign, verifyOutput } from "./pvm-compile.ts";
import { PAYLOAD_ELF, PAYLOAD_KEY_PEM, payloadDriver, signPayload } from "./pvm-payload.ts";
import { bugDemandPageScenario } from "./pvm-demand-paging.ts";
import {
  PVM_LAYOUT,
  PVM_PLAN,
  blockIos,
  createPvm,
  guestCtx,
  kernelBoot,
  powerOff,
  pvmScenario,
  registerPvmfw,
  startPvm,
  teardown,
  vectorPath,
  type Rpc,
} from "./pvm-common.ts";

const KEY = vectorPath("pvmfw_key_rsa2048.avbpubkey");
const RI5 = vectorPath("kernel_signed_ri5.img");
const RI3 = vectorPath("kernel_signed_ri3.img");
const OTHER = vectorPath("kernel_signed_otherkey.img");

/** A full good boot: register pvmfw, create, start, pvmfw hands off, the kernel runs `body`, powers off; teardown. */
function* goodBoot(rpc: Rpc, image: Uint8Array, data: Prng, body: (vm: HostVm) => Program, register = true): Program {
  if (register) yield* registerPvmfw(rpc);
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* createPvm(vm, image, "pvm-instance-1", PVM_PLAN);
  const boot = yield* startPvm(vm);
  if (boot.result === "payload") {
    yield* body(vm);
    yield* powerOff(guestCtx(vm, data));
  }
  yield* teardown(vm);
}

/** A boot pvmfw refuses: it resets the VM; crosvm sees the exit and tears it down. */
function* refusedBoot(rpc: Rpc, image: Uint8Array, register = true): Program {
  if (register) yield* registerPvmfw(rpc);
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* createPvm(vm, image, "pvm-instance-1");
  yield* startPvm(vm);
  yield* teardown(vm);
}

const bootBody = (data: Prng) =>
  function* (vm: HostVm): Program {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "microdroid: pvmfw verified the payload, DICE chain handed over\n");
    yield* blockIos(g, 24);
  };

/** The bug-* scenarios' boot (the static pool only). */
function bootScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  return goodBoot({ seq: 0 }, images[0]!, data, bootBody(data));
}

/** The pVM writes a secret into its private RAM; the host probes it while the VM runs and after teardown. */
function hostReadScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  return goodBoot({ seq: 0 }, images[0]!, data, function* (vm) {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "microdroid: up\n");
    yield { kind: "vm_mem_write", vm: vm.vmid, ipa: PVM_LAYOUT.secretGpa, data: new TextEncoder().encode("pVM secret: the CDI-sealed key") };
    // The host reads the page it lent: its stage-2 no longer maps it, so the access aborts.
    yield { kind: "host_read", ipa: PVM_LAYOUT.secretHost, sizeBytes: 8 };
  });
}
function* hostReadThenProbe(images: Uint8Array[], stream: (n: string) => Prng): Program {
  yield* hostReadScript(images, stream);
  // After teardown the page is the host's again; it must read as zero, not as the pVM's secret.
  yield { kind: "host_read", ipa: PVM_LAYOUT.secretHost, sizeBytes: 8 };
}

/** Devices: one the host controls tries to DMA into the pVM; one assigned to the pVM DMAs into its shared pool. */
function* dmaScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  yield { kind: "smmu_bind", stream: 7, vm: 3 };
  yield* goodBoot({ seq: 0 }, images[0]!, data, function* (vm) {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "microdroid: up\n");
    yield { kind: "smmu_txn", stream: 7, iova: PVM_LAYOUT.secretHost, access: "write", sizeBytes: 64 };
    yield { kind: "smmu_txn", stream: 7, iova: 0x9000_0000, access: "read", sizeBytes: 64 };
    // A device assigned to the pVM DMAs into its shared pool and into its private memory.
    yield { kind: "smmu_bind", stream: 9, vm: vm.vmid };
    yield { kind: "smmu_txn", stream: 9, iova: 0x8100_8000, access: "write", sizeBytes: 64 };
    yield { kind: "smmu_txn", stream: 9, iova: PVM_LAYOUT.secretGpa, access: "write", sizeBytes: 64 };
  });
  // After teardown: the host's device reaches the (sanitised) memory again; the pVM's device reaches nothing.
  yield { kind: "smmu_txn", stream: 7, iova: PVM_LAYOUT.secretHost, access: "read", sizeBytes: 64 };
  yield { kind: "smmu_txn", stream: 9, iova: PVM_LAYOUT.secretGpa, access: "read", sizeBytes: 64 };
}

function* rollbackScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  const rpc = { seq: 0 };
  // Boot rollback index 5: the store moves to 5; then an older payload (index 3) is offered.
  yield* goodBoot(rpc, images[0]!, data, bootBody(data));
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* createPvm(vm, images[1]!, "pvm-instance-1");
  const boot = yield* startPvm(vm);
  if (boot.result === "payload") {
    yield* kernelBoot(guestCtx(vm, data), "microdroid: an old payload is running\n");
    yield* powerOff(guestCtx(vm, data));
  }
  yield* teardown(vm);
}

function tamperedScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const genuine = images[0]!.slice();
  const img = images[0]!;
  img[0x1_0000] = img[0x1_0000]! ^ 0x40; // one flipped bit in the kernel body
  const data = stream("guest");
  return (function* () {
    yield* refusedBoot({ seq: 0 }, img);
    // A payload signed with a key pvmfw does not trust.
    yield* refusedBoot({ seq: 3 }, images[1]!, false);
    // The genuine payload still boots.
    yield* goodBoot({ seq: 3 }, genuine, data, bootBody(data), false);
  })();
}

/** pvm-boot without the teardown: the VM is still running when the trace ends. */
function runningScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  return (function* () {
    yield* registerPvmfw({ seq: 0 });
    const vm: HostVm = { fd: 0, vmid: 0 };
    yield* createPvm(vm, images[0]!, "pvm-instance-1");
    const boot = yield* startPvm(vm);
    if (boot.result === "payload") yield* kernelBoot(guestCtx(vm, data), "microdroid: up\n");
  })();
}

function* compileScript(images: Uint8Array[], stream: (n: string) => Prng): Program {
  const data = stream("guest");
  const rpc = { seq: 0 };
  let output: Uint8Array | null = null;
  yield* goodBoot(rpc, images[0]!, data, function* (vm) {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "compos: compiling\n");
    output = yield* compileAndSign(g);
  });
  yield* goodBoot(rpc, images[0]!, data, function* (vm) {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "compos: verifying\n");
    yield* verifyOutput(g, output);
  }, false);
}

export const pvmBootScenario: Scenario = pvmScenario({
  name: "pvm-boot",
  description:
    "AVF protected-VM boot: real code (guests/pvm-payload) from pvmfw on. The HLOS registers pvmfw with the RM; crosvm lends the VM its memory, donates bounce-buffer " +
    "candidates, copies in the AVB-signed payload and starts it with auth type ANDROID; pvmfw verifies it " +
    "(rollback index 5), extends the DICE chain and jumps to it; the payload reads its DICE handover, probes virtio, does block I/O " +
    "with interrupts, shares its bounce buffers with the host over its own RM channel and reclaims them after the host releases " +
    "them, and powers off; the host reclaims its (sanitised) memory.",
  keyFile: KEY,
  imageFiles: [PAYLOAD_ELF, PAYLOAD_KEY_PEM],
  prepare: ([elf, pem]) => [signPayload(elf!, new TextDecoder().decode(pem))],
  revision: 3,
  driver: payloadDriver,
  maxEvents: 20_000,
});

export const pvmTamperedScenario: Scenario = pvmScenario({
  name: "pvm-tampered",
  description: "pvmfw refuses a payload with one flipped bit (VERIFICATION) and one signed with an untrusted key (PUBLIC_KEY_REJECTED); the host sees each reason in NOTIFY_VM_EXITED; the genuine payload then boots.",
  keyFile: KEY,
  imageFiles: [RI5, OTHER],
  script: tamperedScript,
});

export const pvmRollbackScenario: Scenario = pvmScenario({
  name: "pvm-rollback",
  description: "A payload with rollback index 5 boots and the sealed store moves to 5; an older payload (index 3) is then refused (INVALID_PAYLOAD, ROLLBACK_INDEX).",
  keyFile: KEY,
  imageFiles: [RI5, RI3],
  script: rollbackScript,
});

export const pvmHostReadScenario: Scenario = pvmScenario({
  name: "pvm-host-read",
  description: "The host reads a page it lent to a running protected VM: the access aborts; after teardown the page reads back sanitised.",
  keyFile: KEY,
  imageFiles: [RI5],
  script: hostReadThenProbe,
});

export const pvmDmaScenario: Scenario = pvmScenario({
  name: "pvm-dma",
  description: "A device the host controls tries to DMA into a protected VM's memory (the SMMU faults); a device assigned to the pVM DMAs into its shared pool.",
  keyFile: KEY,
  imageFiles: [RI5],
  script: dmaScript,
});

export const pvmCompileScenario: Scenario = pvmScenario({
  name: "pvm-compile",
  description:
    "Isolated compilation (CompOS-like): a protected VM boots, compiles, signs its output with a key derived from its DICE sealing CDI and " +
    "writes it through virtio-block, shuts down; a second boot of the same instance re-derives the key and verifies the output.",
  keyFile: KEY,
  imageFiles: [RI5],
  script: compileScript,
  maxEvents: 40_000,
});

function bug(defect: ModelDefect, invariant: string, base: { imageFiles: string[]; script: (images: Uint8Array[], stream: (n: string) => Prng) => Program }, what: string): Scenario {
  return pvmScenario({ name: `bug-${defect}`, description: `Injected defect ${defect}: ${what} Caught by ${invariant}.`, keyFile: KEY, defects: [defect], expect: [invariant], ...base });
}

export const BUG_SCENARIOS: readonly Scenario[] = [
  bug("reclaim-without-sanitise", "isolation.reclaimed_memory_sanitised", { imageFiles: [RI5], script: hostReadThenProbe }, "the host reclaims the pVM's memory unsanitised and reads its secret."),
  bug("host-s2-kept-after-lend", "isolation.host_no_pvm_private", { imageFiles: [RI5], script: runningScript }, "the host keeps its stage-2 mapping of the memory it lends the pVM."),
  bug("smmu-map-kept-after-reclaim", "isolation.smmu_within_vm", { imageFiles: [RI5], script: dmaScript }, "the pVM's device keeps its SMMU mapping when the pVM's memory goes back to the host."),
  bug("rollback-check-skipped", "isolation.rollback_respected", { imageFiles: [RI5, RI3], script: rollbackScript }, "pvmfw boots an older payload."),
  bug("virq-wrong-vm", "isolation.virq_to_owner", { imageFiles: [RI5], script: bootScript }, "a virtio interrupt of the pVM's device is raised in the host."),
  bugDemandPageScenario, // issue 17: src/sim/builtin/pvm-demand-paging.ts
];

export const PVM_SCENARIOS: readonly Scenario[] = [pvmCompileScenario, pvmTamperedScenario, pvmRollbackScenario, pvmHostReadScenario, pvmDmaScenario];
