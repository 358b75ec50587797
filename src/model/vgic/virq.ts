import { GIC } from "../abi/constants.ts";
import type { HvError } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { markDirty } from "../vcpu/sched.ts";
import type { IrqState, VicObject, VirqBinding, VirqSource } from "./state.ts";
import { setEntry } from "../vcpu/context.ts";
import { sourcePending } from "./sources.ts";

/**
 * VIRQ delivery (reference §7.2, §7.3; GH:hyp/interfaces/virq/virq.ev, GH:hyp/vm/vgic/src/deliver.c):
 * assert/clear by sources, pending = edge latch or level, delivered when enabled, not active and the
 * distributor's group enable is set; a deliverable VIRQ wakes its vCPU from WFI or PSCI suspend.
 */

export function defaultIrq(intid: number): IrqState {
  return { enabled: false, pending: false, level: false, active: false, edge: intid <= GIC.SGI_LAST, priority: 0, route: 0, hw: false };
}

/** The state of an INTID: private ones live in the vCPU's redistributor, SPIs in the distributor. */
export function irqOf(vic: VicObject, t: ThreadObject | undefined, intid: number): IrqState | undefined {
  if (intid < GIC.SPI_FIRST) return t === undefined ? undefined : t.gicr.irqs[intid];
  return vic.spis[intid];
}

/** Same, creating the record on first write. */
export function irqForWrite(vic: VicObject, t: ThreadObject | undefined, intid: number): IrqState | undefined {
  if (intid < GIC.SPI_FIRST) {
    if (t === undefined) return undefined;
    return (t.gicr.irqs[intid] ??= defaultIrq(intid));
  }
  if (intid >= GIC.SPI_FIRST + vic.maxVirqs) return undefined;
  const spi = vic.spis[intid];
  if (spi !== undefined) return spi;
  const created = defaultIrq(intid);
  (vic.spis as Record<number, IrqState>)[intid] = created; // the one place SPI records are added
  noteSpi(vic.spis, intid);
  return created;
}

/**
 * The INTIDs of a distributor's SPI records, ascending: derived data, kept outside the state (so
 * state hashes are untouched) and keyed by the `spis` object itself, so a new object (a mutable
 * copy, an immer draft or result) gets its own entry, built on first use. Why: SPI records are
 * sparse (32..35 and the RM's CLIENT_RX at 1019), and enumerating such an object walks V8's holey
 * backing store of over a thousand slots: every IAR read and wake-up check cost microseconds.
 * `VicObject.spis` is read-only to TypeScript; `irqForWrite`, the only writer, keeps entries in step.
 */
const spiIndex = new WeakMap<VicObject["spis"], number[]>();

function spiIds(spis: VicObject["spis"]): readonly number[] {
  let ids = spiIndex.get(spis);
  if (ids === undefined) {
    ids = [];
    for (const k in spis) ids.push(Number(k));
    ids.sort((a, b) => a - b);
    spiIndex.set(spis, ids);
  }
  return ids;
}

/** A record was added: an index entry already built for this object gets the INTID in order. */
function noteSpi(spis: VicObject["spis"], intid: number): void {
  const ids = spiIndex.get(spis);
  if (ids === undefined) return;
  let at = ids.length;
  while (at > 0 && ids[at - 1]! > intid) at--;
  ids.splice(at, 0, intid);
}

export const isPending = (i: IrqState): boolean => (i.edge ? i.pending : i.pending || i.level);

export function deliverable(vic: VicObject, i: IrqState): boolean {
  return isPending(i) && i.enabled && !i.active && (vic.ctlr & 0x3) !== 0;
}

/** The vCPU a VIRQ is delivered to (SPIs by route, private ones to their own vCPU). */
export function targetOf(s: Machine, vic: VicObject, intid: number, owner: ThreadObject | undefined): ThreadObject | undefined {
  if (intid < GIC.SPI_FIRST) return owner;
  const route = vic.spis[intid]?.route ?? 0;
  const id = vic.vcpus[route] ?? 0;
  return id === 0 ? undefined : objectAs(s, id, "thread");
}

/**
 * Does any VIRQ wait for delivery to this vCPU? Private INTIDs (0..31, the only keys `irqForWrite`
 * gives `gicr.irqs`) are probed by number: cheaper than enumerating a holey object.
 */
export function hasDeliverable(s: Machine, t: ThreadObject): boolean {
  const vic = objectAs(s, t.vic, "vic");
  if (vic === undefined) return false;
  const irqs = t.gicr.irqs;
  for (let intid = 0; intid < GIC.SPI_FIRST; intid++) {
    const i = irqs[intid];
    if (i !== undefined && deliverable(vic, i)) return true;
  }
  for (const intid of spiIds(vic.spis)) {
    const i = vic.spis[intid]!;
    if (i.route === t.vicIndex && deliverable(vic, i)) return true;
  }
  return false;
}

/** A deliverable VIRQ ends WFI and PSCI suspend (GH:hyp/vm/vcpu: the vcpu_wfi/vcpu_suspend block bits). */
export function wakeIfDeliverable(s: Machine, t: ThreadObject | undefined): boolean {
  if (t === undefined || (!t.wfi && t.suspend === 0) || !hasDeliverable(s, t)) return false;
  t.wfi = false;
  t.suspend = 0;
  if (t.warmReset !== null) {
    // Woken from a power-down CPU_SUSPEND: warm reset at its entry point (GH:hyp/vm/psci/src/psci_common.c:337-344).
    setEntry(t, t.warmReset.pc, t.warmReset.context);
    t.warmReset = null;
  }
  markDirty(s);
  if (t.proxy && !t.entered && t.wakeupVirq !== null) assertShared(s, t.wakeupVirq, false);
  return true;
}

/** Outcome of an assert: where it went (for `hvsim log`). */
export interface AssertResult {
  readonly virq: number;
  readonly vm: number;
  readonly vcpu: number;
  readonly woke: boolean;
}

/** `virq_assert(source, edge_only)` on a shared (SPI) binding. */
export function assertShared(s: Machine, b: VirqBinding, edgeOnly: boolean): AssertResult | null {
  const vic = objectAs(s, b.vic, "vic");
  if (vic === undefined) return null;
  return assertIrq(s, vic, undefined, b.virq, edgeOnly);
}

/** Asserts an INTID on a VIC: edge VIRQs latch, level VIRQs set level_src unless edge-only. */
export function assertIrq(s: Machine, vic: VicObject, owner: ThreadObject | undefined, intid: number, edgeOnly: boolean): AssertResult | null {
  const i = irqForWrite(vic, owner, intid);
  if (i === undefined) return null;
  if (i.edge) i.pending = true;
  else if (!edgeOnly) i.level = true;
  else return null;
  const t = targetOf(s, vic, intid, owner);
  const woke = wakeIfDeliverable(s, t);
  return { virq: intid, vm: t?.vm ?? 0, vcpu: t?.index ?? 0, woke };
}

/** `virq_clear`: drops the level (no effect on edge VIRQs). */
export function clearShared(s: Machine, b: VirqBinding | null): void {
  if (b === null) return;
  const vic = objectAs(s, b.vic, "vic");
  const i = vic?.spis[b.virq];
  if (i !== undefined && !i.edge) i.level = false;
}

/**
 * `vic_bind_shared` (GH:hyp/vm/vgic/src/distrib.c): only SPIs 32 ≤ virq < 32 + max_virqs
 * (ARGUMENT_INVALID), a VIRQ already used ⇒ BUSY. (The caller checks "source already bound" ⇒
 * VIRQ_BOUND first ⚠ order.)
 */
export function bindShared(vic: VicObject, virq: number, source: VirqSource): HvError | null {
  if (virq < GIC.SPI_FIRST || virq >= GIC.SPI_FIRST + vic.maxVirqs) return "ARGUMENT_INVALID";
  if (vic.sources[virq] !== undefined) return "BUSY";
  vic.sources[virq] = source;
  return null;
}

export function unbindShared(s: Machine, b: VirqBinding | null): void {
  if (b === null) return;
  const vic = objectAs(s, b.vic, "vic");
  if (vic === undefined) return;
  delete vic.sources[b.virq];
  const i = vic.spis[b.virq];
  if (i !== undefined) {
    i.level = false;
    i.pending = false;
  }
}

/**
 * The most urgent deliverable INTID for this vCPU and its priority, or null. INTIDs are visited in
 * ascending order (private by number, as in hasDeliverable, then the SPI index), so the first of
 * the lowest priority value wins.
 */
export function highestPending(s: Machine, t: ThreadObject): { intid: number; priority: number } | null {
  const vic = objectAs(s, t.vic, "vic");
  if (vic === undefined) return null;
  let best = -1;
  let bestPrio = 256;
  const irqs = t.gicr.irqs;
  for (let intid = 0; intid < GIC.SPI_FIRST; intid++) {
    const i = irqs[intid];
    if (i !== undefined && i.priority < bestPrio && deliverable(vic, i)) {
      best = intid;
      bestPrio = i.priority;
    }
  }
  for (const intid of spiIds(vic.spis)) {
    const i = vic.spis[intid]!;
    if (i.route === t.vicIndex && i.priority < bestPrio && deliverable(vic, i)) {
      best = intid;
      bestPrio = i.priority;
    }
  }
  return best < 0 ? null : { intid: best, priority: bestPrio };
}

/** The guest acknowledges (ICC_IAR1_EL1): the highest-priority deliverable INTID, or 1023 (spurious). */
export function acknowledge(s: Machine, t: ThreadObject): number {
  const vic = objectAs(s, t.vic, "vic");
  const h = vic === undefined ? null : highestPending(s, t);
  if (vic === undefined || h === null) return 1023;
  const best = h.intid;
  const i = irqOf(vic, t, best)!;
  i.active = true;
  if (i.edge) i.pending = false;
  else i.pending = false; // a software pend is consumed; the source level stays asserted
  return best;
}

/**
 * The guest ends an interrupt (ICC_EOIR1_EL1 with EOImode 0: priority drop and deactivate). A
 * level VIRQ's source is re-checked (`virq_check_pending`), lazily clearing a level no longer held.
 */
export function endOfInterrupt(s: Machine, t: ThreadObject, intid: number): boolean {
  const vic = objectAs(s, t.vic, "vic");
  if (vic === undefined) return false;
  const i = irqOf(vic, t, intid);
  if (i === undefined || !i.active) return false;
  i.active = false;
  const src = intid >= GIC.SPI_FIRST ? vic.sources[intid] : undefined;
  if (!i.edge && i.level && src !== undefined && !sourcePending(s, src)) i.level = false;
  if (i.hw && src !== undefined) {
    const hw = objectAs(s, src.object, "hwirq");
    if (hw !== undefined) hw.hwActive = false;
  }
  return true;
}
