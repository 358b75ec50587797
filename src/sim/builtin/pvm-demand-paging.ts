/**
 * pvm-demand-paging (issue 17): a protected VM booted by the guest_memfd-era host driver beside the
 * eager one. crosvm lends the image region, the firmware window and the shared pool as before, and
 * binds a guest_memfd to the VM for the rest of its RAM (GUNYAH_CREATE_GUEST_MEM, GUNYAH_VM_MAP_MEM
 * with FORCE_LEND | ALLOW_READ | ALLOW_WRITE); START then tells the RM that range is demand-paged
 * (VM_SET_DEMAND_PAGING) and where the image sits (VM_SET_ADDRESS_LAYOUT), and sets the boot context
 * after VM_INIT (VM_SET_CONTEXT). The VM starts with its eager memory only; each first store to a
 * page of the binding is a stage-2 translation fault the hypervisor reports as vcpu_run PAGE_FAULT,
 * the driver provides that one page (one RM MEM_LEND, accepted at the page) and resumes with RETRY,
 * and the store re-executes. The VM grows in three bursts with block I/O between; teardown reclaims
 * every provided page sanitised, and the host reads one back as zero.
 * bug-demand-page-kept-in-host: the same run, up to the last burst (the VM still running), with the
 * provide leaving each page in the host's stage-2.
 */
import type { Program } from "../lib/program.ts";
import type { HostVm } from "../lib/host.ts";
import type { Prng } from "../prng.ts";
import type { Scenario } from "../scenario.ts";
import { PVM_PLAN, blockIos, createPvm, guestCtx, kernelBoot, powerOff, pvmScenario, registerPvmfw, startPvm, teardown, vectorPath } from "./pvm-common.ts";

const PAGE = 0x1000;
/** The guest_memfd: 64 pages of host memory, bound at 0x8200_0000 (after the shared pool and swiotlb). */
export const DEMAND = { gpa: 0x8200_0000, host: 0xa800_0000, pages: 64, flags: 0x31 } as const;
/** Pages the guest touches in each burst (first stores), then revisits one of them. */
export const DEMAND_BURSTS = [4, 8, 12] as const;

function* demandScript(images: Uint8Array[], stream: (n: string) => Prng, down = true): Program {
  const data = stream("guest");
  yield* registerPvmfw({ seq: 0 });
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* createPvm(vm, images[0]!, "pvm-instance-1", PVM_PLAN);
  const gm = yield { kind: "vmm_ioctl", op: "CREATE_GUEST_MEM", size: DEMAND.pages * PAGE, hostAddr: DEMAND.host };
  yield { kind: "vmm_ioctl", op: "VM_MAP_MEM", fd: vm.fd, guestMemFd: gm.ret as number, guestAddr: DEMAND.gpa, offset: 0, size: DEMAND.pages * PAGE, flags: DEMAND.flags };
  // SP_EL1 (reg_set SP 2, index 1) at the top of the image region, as a VMM would for its kernel's stack.
  yield { kind: "vmm_ioctl", op: "VM_SET_BOOT_CONTEXT", fd: vm.fd, reg: 0x201, value: BigInt(PVM_PLAN.image.gpa + PVM_PLAN.image.size) };
  const boot = yield* startPvm(vm);
  let first = 0;
  if (boot.result === "payload") {
    const g = guestCtx(vm, data);
    yield* kernelBoot(g, "microdroid: memory on demand\n");
    const order = Array.from({ length: DEMAND.pages }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = data.rangeInclusive(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let next = 0;
    first = order[0]!;
    for (const n of DEMAND_BURSTS) {
      for (let k = 0; k < n; k++) {
        const ipa = DEMAND.gpa + order[next++]! * PAGE;
        yield { kind: "stage2_fault", vm: vm.vmid, vcpu: 0, ipa, access: "write", sizeBytes: 8, value: BigInt(ipa) };
        yield { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu: 0 };
        // The store re-executes: now it lands.
        yield { kind: "vm_mem_write", vm: vm.vmid, ipa, data: new TextEncoder().encode(`pVM page ${ipa.toString(16)}`) };
      }
      yield { kind: "vm_mem_write", vm: vm.vmid, ipa: DEMAND.gpa + order[0]! * PAGE + 0x800, data: new TextEncoder().encode("again") };
      yield* blockIos(g, 2);
    }
    if (!down) return; // the bug scenario ends with the VM still running, so the broken state is the last one too
    yield* powerOff(g);
  }
  yield* teardown(vm);
  // The first provided page, back with the host: sanitised.
  yield { kind: "host_read", ipa: DEMAND.host + first * PAGE, sizeBytes: 8 };
}

const KEY = vectorPath("pvmfw_key_rsa2048.avbpubkey");
const IMAGE = vectorPath("kernel_signed_ri5.img");

export const pvmDemandPagingScenario: Scenario = pvmScenario({
  name: "pvm-demand-paging",
  description:
    "A protected VM booted with guest_memfd demand paging: it starts with its image, firmware and shared memory; each first store to its guest_memfd RAM " +
    "is a vcpu_run PAGE_FAULT the host driver resolves with one RM MEM_LEND of that page; it grows page by page in three bursts; teardown reclaims every page sanitised.",
  keyFile: KEY,
  imageFiles: [IMAGE],
  script: demandScript,
  maxEvents: 4_000,
});

export const bugDemandPageScenario: Scenario = pvmScenario({
  name: "bug-demand-page-kept-in-host",
  description: "Injected defect demand-page-kept-in-host: a page provided on demand to the pVM stays mapped in the host. Caught by isolation.host_no_pvm_private.",
  keyFile: KEY,
  imageFiles: [IMAGE],
  defects: ["demand-page-kept-in-host"],
  expect: ["isolation.host_no_pvm_private"],
  script: (images, stream) => demandScript(images, stream, false),
  maxEvents: 4_000,
});
