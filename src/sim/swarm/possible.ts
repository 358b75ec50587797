/**
 * Can this step still happen? An actor decides a step from the state it saw; by the time the
 * scheduler issues it, another actor may have changed the machine (the host reclaimed the page the
 * guest was about to write, a hostile VM_STOP took the VM down). The model rejects an event that
 * cannot happen in its state as a trace error, so a step that is no longer possible is dropped,
 * as the real access would have gone another way. These are the model's own preconditions
 * (src/model/*: `invalidEvent` sites), restated for the steps the swarm's actors make; anything a
 * guest or host may legally do wrong is not filtered here, it gets Gunyah's answer.
 */
import { VMID } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import { ACCESS_BIT, translate } from "../../model/memory/stage2.ts";
import { reaches } from "../../model/rm/content.ts";
import { hostAddr } from "../../model/vmm/ioctl.ts";
import { vmmVmByVmid } from "../../model/vmm/state.ts";
import type { Step } from "../lib/program.ts";

const vmmVm = vmmVmByVmid;

/** The RM's VM is RUNNING and the vCPU powered on (rm_request from a guest, rm_vm_halt, vm_mem_write). */
function runningVm(s: Machine, vmid: number, vcpu = 0): boolean {
  const vm = s.rm.vms.byId[vmid];
  return vm !== undefined && vm.status === "RUNNING" && vm.vcpus.byId[vcpu]?.power === "on";
}

export function stepPossible(s: Machine, step: Step): boolean {
  switch (step.kind) {
    case "vm_mem_write":
      return s.rm.vms.byId[step.vm]?.status === "RUNNING" && reaches(s, step.vm, step.ipa, step.data.length, 2);
    case "guest_access": {
      const tr = translate(s, step.vm, step.ipa);
      return tr !== null && (tr.access & ACCESS_BIT[step.access]) !== 0;
    }
    case "stage2_fault": {
      if (step.fsc !== undefined) return true;
      const tr = translate(s, step.vm, step.ipa);
      return tr === null || (tr.access & ACCESS_BIT[step.access]) === 0;
    }
    case "rm_request":
      return step.vm === VMID.HLOS || runningVm(s, step.vm);
    case "rm_vm_halt":
      return runningVm(s, step.vm, step.vcpu);
    case "pvmfw_boot": {
      const p = s.pvm.vms.byId[step.vm];
      return runningVm(s, step.vm, step.vcpu) && p !== undefined && p.stage === "firmware" && s.rm.vms.byId[step.vm]!.vcpus.ids[0] === step.vcpu;
    }
    case "pv_time":
      return s.pvm.vms.byId[step.vm] !== undefined && runningVm(s, step.vm, step.vcpu);
    case "pvm_load_image": {
      const vm = vmmVm(s, step.vm);
      const host = vm === undefined || vm.status !== "LOAD" ? null : hostAddr(vm, step.gpa, step.image.length);
      return host !== null && s.pvm.platform !== null && reaches(s, VMID.HLOS, host, step.image.length, 2);
    }
    case "vmm_ioctl":
      if (step.op === "CREATE_VM" || step.op === "CREATE_GUEST_MEM") return true;
      if (step.op === "VCPU_RUN" && step.fd === undefined) return vmmVm(s, step.vm ?? -1) !== undefined;
      return s.vmm.vms.byId[(step as { fd: number }).fd] !== undefined;
    case "vmm_add_device":
      return s.vmm.vms.byId[step.fd] !== undefined;
    case "vmm_mmio": {
      // crosvm has an exit to handle for this vCPU: one the last VCPU_RUN returned, or an ioeventfd write.
      const vm = s.rm.vms.byId[step.vm]?.status === "RUNNING" ? vmmVm(s, step.vm) : undefined;
      if (vm === undefined) return false;
      const held = vm.mmio[step.vcpu];
      return (held !== undefined && !held.handled) || vm.ioevents.some((x) => x.vcpu === step.vcpu);
    }
    default:
      return true;
  }
}
