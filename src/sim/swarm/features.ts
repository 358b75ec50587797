/**
 * The swarm's optional features (swarm testing in the sense of Groce et al., "Swarm Testing",
 * ISSTA 2012): each seed switches on a random subset, so one run never mixes everything and
 * interactions a full mix would drown out still get room. Each feature is on with probability 1/2,
 * drawn from its own named stream, so adding a feature never changes another's draw.
 */
import { ratio, type Prng } from "../prng.ts";

export const SWARM_FEATURES = {
  protected: "protected VMs booted through pvmfw (AVB payloads with rollback indices 5 and 3, a tampered one, one signed by an untrusted key)",
  secondary: "secondary (unprotected) VMs",
  block: "virtio-blk devices and block I/O with interrupts",
  console: "virtio-console devices",
  timer: "guests arm their virtual timer and take PPI 27",
  smmu: "SMMU streams bound to VMs; devices DMA into, around and after their VM's memory",
  lending: "the host lends and shares more memory to running guests (MEM_LEND/MEM_SHARE), guests accept and release, the host reclaims",
  "guest-share": "guests share pages of their own memory with the host (MEM_SHARE, MEM_NOTIFY), the host accepts and releases",
  "demand-paging": "protected VMs with guest_memfd RAM paged on demand: first stores fault (vcpu_run PAGE_FAULT), the host driver provides each page with one RM MEM_LEND",
  restart: "VMs boot more than once (torn down and created again)",
  "multi-vcpu": "VMs with 2 to 4 vCPUs",
  "host-probe": "the host reads memory it gave away, while the VM runs and after",
  "wrong-order": "the VMMs issue their steps in illegal orders too (start twice, lend before start, reclaim before release, ...)",
  "hostile-host": "a host VMM issuing RM calls and ioctls with random arguments, in wrong states",
  "hostile-guest": "guests making random hypercalls and SMCCC calls with random registers and touching random addresses",
  crash: "guests crash at a random point (panic, unrecoverable vCPU fault, PSCI SYSTEM_RESET)",
  hang: "guests hang at a random point (the watchdog bites, or the host gives up waiting and force-stops)",
  "vmm-death": "a VMM dies mid-boot (the last close of the VM fd while the guest boots)",
  "rm-delay": "RM requests delayed (long gaps before the VMMs' RM calls)",
  "rm-retry": "RM requests retried (the same request and sequence number sent again)",
  "irq-storm": "storms of hardware interrupts on the platform's SPIs",
  "late-timers": "timer interrupts delivered late",
  "memory-pressure": "the host gives memory until the RM refuses it and creates VMs until VMIDs run out",
} as const;

export type SwarmFeature = keyof typeof SWARM_FEATURES;
export const SWARM_FEATURE_NAMES = Object.keys(SWARM_FEATURES) as SwarmFeature[];

const HALF = ratio(1, 2);

/** The subset for one seed; at least one kind of VM is always on (a world needs a guest). */
export function drawFeatures(stream: (name: string) => Prng): SwarmFeature[] {
  const on = SWARM_FEATURE_NAMES.filter((f) => stream(`feature:${f}`).chance(HALF));
  if (!on.includes("protected") && !on.includes("secondary")) on.push(stream("feature:kind").pick(["protected", "secondary"] as const));
  return SWARM_FEATURE_NAMES.filter((f) => on.includes(f));
}
