import type { HvError } from "../abi/errors.ts";
import { GIC } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { activateExtent, destroyExtent } from "../memory/memextent.ts";
import { activateThread, detachThread } from "../vcpu/activate.ts";
import { unbindShared } from "../vgic/virq.ts";
import { activateVirtioMmio, destroyVirtioMmio, virtioReferences } from "../virtio_mmio/hypercalls.ts";
import { dropObject } from "./objects.ts";
import { forEachCap, freeCap, objectHasCaps } from "./cspace.ts";
import type { HypObject } from "./state.ts";

/**
 * object_activate's per-type handlers (reference §4.2 table; a "setup event": the first failure
 * wins and the object becomes FAILED, terminal). Returns the error, or null on success.
 */
export function activateObject(s: Machine, o: HypObject): HvError | null {
  switch (o.type) {
    case "cspace":
      return o.maxCaps !== 0 ? null : "OBJECT_CONFIG";
    case "addrspace":
      if (o.vmid === 0) return "OBJECT_CONFIG";
      if (s.vms[o.vmid] !== undefined) return "BUSY";
      s.vms[o.vmid] = { addrspace: o.id, vcpus: [] };
      return null;
    case "memextent":
      return activateExtent(s, o);
    case "thread":
      return activateThread(s, o);
    case "msgqueue":
      if (o.depth === 0 || o.maxSize === 0) return "OBJECT_CONFIG";
      o.notFullThreshold = o.depth - 1;
      o.notEmptyThreshold = 1;
      return null;
    case "vic":
      return o.maxVcpus >= 1 ? null : "OBJECT_CONFIG";
    case "virtio_mmio":
      return activateVirtioMmio(s, o);
    default:
      return null;
  }
}

/** Does another live object still hold a reference (an attachment) to this one? */
export function isReferenced(s: Machine, id: number): boolean {
  for (const oid of s.objects.ids) {
    const o = s.objects.byId[oid]!;
    switch (o.type) {
      case "thread":
        // A live thread holds itself until it has exited (GH:hyp/core/thread_standard/src/thread.c:124-128, 246).
        if (o.id === id && o.state === "ACTIVE" && (o.threadState === "READY" || o.threadState === "KILLED")) return true;
        if (o.cspace === id || o.addrspace === id || o.vic === id || o.vpm === id) return true;
        break;
      case "memextent":
        if (o.parent === id || o.mappings.some((m) => m.addrspace === id)) return true;
        break;
      case "addrspace":
        if (o.infoArea?.memextent === id || o.vdevices.some((v) => v.vic === id)) return true;
        break;
      case "doorbell":
        if (o.virq?.vic === id) return true;
        break;
      case "msgqueue":
        if (o.sendVirq?.vic === id || o.receiveVirq?.vic === id) return true;
        break;
      case "hwirq":
        if (o.virq?.vic === id) return true;
        break;
      case "virtio_mmio":
        if (virtioReferences(o, id)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

/**
 * After a cap went away: objects with no VALID cap and no reference are destroyed (their memory
 * and bindings released). A destroyed cspace drops its own caps, which may free more; the work
 * list bounds the cascade by the number of objects.
 */
export function collectGarbage(s: Machine, candidates: number[]): void {
  for (let n = 0; n < candidates.length && n < 4096; n++) {
    const id = candidates[n]!;
    const o = s.objects.byId[id];
    if (o === undefined || o.type === "partition" || o.type === "hwirq") continue;
    if (objectHasCaps(s, id) || isReferenced(s, id)) continue;
    destroy(s, o, candidates);
  }
}

function destroy(s: Machine, o: HypObject, more: number[]): void {
  switch (o.type) {
    case "memextent":
      destroyExtent(s, o);
      if (o.parent !== 0) more.push(o.parent);
      break;
    case "doorbell":
      unbindShared(s, o.virq);
      if (o.virq !== null) more.push(o.virq.vic);
      break;
    case "msgqueue":
      unbindShared(s, o.sendVirq);
      unbindShared(s, o.receiveVirq);
      break;
    case "thread":
      more.push(o.cspace, o.addrspace, o.vic);
      detachThread(s, o);
      break;
    case "addrspace":
      if (s.vms[o.vmid]?.addrspace === o.id) delete s.vms[o.vmid];
      break;
    case "virtio_mmio":
      more.push(...destroyVirtioMmio(s, o));
      break;
    case "cspace":
      forEachCap(o, (id, c) => {
        if (c.state === "VALID") more.push(c.object);
        freeCap(o, id);
      });
      break;
    default:
      break;
  }
  dropObject(s, o.id);
}

/** INTIDs the arch-timer module binds per vCPU at activation (reference §7.1). */
export const TIMER_PPIS = [GIC.VIRTUAL_TIMER_PPI, GIC.PHYSICAL_TIMER_PPI] as const;
