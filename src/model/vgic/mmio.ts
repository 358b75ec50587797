import { GIC } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { markDirty } from "../vcpu/sched.ts";
import type { IrqState, VicObject } from "./state.ts";
import { defaultIrq, irqForWrite, irqOf, wakeIfDeliverable, targetOf } from "./virq.ts";

/**
 * GICv3 register emulation at EL2 for the accesses a Linux guest makes while it brings up its GIC
 * (GH:hyp/vm/vgic/src/vdevice.c, distrib.c; register layout from the Arm GICv3 architecture):
 * GICD_CTLR/TYPER/IIDR/TYPER2/PIDR2, IGROUPR (RAO/WI: group 1 only), IS/ICENABLER, IS/ICPENDR,
 * IS/ICACTIVER, IPRIORITYR (5 priority bits), ICFGR, IROUTER; GICR_CTLR/IIDR/TYPER/WAKER/PIDR2 and
 * the SGI_base frame's group, enable, pend, active, priority and config registers. Anything else
 * reads as zero and ignores writes (RAZ/WI), as unimplemented GIC registers do.
 */

export interface MmioResult {
  /** Register name, for the outcome and `hvsim log`. */
  readonly reg: string;
  /** Value read (reads only). */
  readonly value?: bigint;
}

/** The 32-bit bitmap registers: offset of register 0, per-INTID field. */
const BITMAPS: readonly { off: number; name: string; get: (i: IrqState) => boolean; set?: (i: IrqState, v: boolean) => void }[] = [
  { off: 0x0100, name: "ISENABLER", get: (i) => i.enabled, set: (i, v) => v && (i.enabled = true) },
  { off: 0x0180, name: "ICENABLER", get: (i) => i.enabled, set: (i, v) => v && (i.enabled = false) },
  { off: 0x0200, name: "ISPENDR", get: (i) => (i.edge ? i.pending : i.pending || i.level), set: (i, v) => v && (i.pending = true) },
  { off: 0x0280, name: "ICPENDR", get: (i) => (i.edge ? i.pending : i.pending || i.level), set: (i, v) => v && (i.pending = false) },
  { off: 0x0300, name: "ISACTIVER", get: (i) => i.active, set: (i, v) => v && (i.active = true) },
  { off: 0x0380, name: "ICACTIVER", get: (i) => i.active, set: (i, v) => v && (i.active = false) },
];

const PIDR2 = 0x3bn; // ArchRev 3 (GICv3)
const IIDR = 0x43bn; // implementer Arm (JEP106 0x43B) ⚠ Gunyah's own value not checked

type Bank = { vic: VicObject; owner: ThreadObject | undefined; first: number; count: number };

/** Registers common to GICD (INTIDs 32..) and the GICR SGI frame (INTIDs 0..31). */
function bankAccess(s: Machine, b: Bank, off: number, write: boolean, size: number, value: bigint, prefix: string): MmioResult | null {
  if (off >= 0x0080 && off < 0x0100) return { reg: `${prefix}_IGROUPR`, ...(write ? {} : { value: 0xffff_ffffn }) };
  for (const r of BITMAPS) {
    if (off < r.off || off >= r.off + 0x80 || size !== 4) continue;
    const base = ((off - r.off) >> 2) * 32 + (prefix === "GICD" ? 0 : 0);
    if (base < b.first || base >= b.first + b.count) return { reg: `${prefix}_${r.name}`, ...(write ? {} : { value: 0n }) };
    if (!write) {
      let v = 0n;
      for (let k = 0; k < 32; k++) {
        const i = irqOf(b.vic, b.owner, base + k);
        if (i !== undefined && r.get(i)) v |= 1n << BigInt(k);
      }
      return { reg: `${prefix}_${r.name}${(off - r.off) >> 2}`, value: v };
    }
    for (let k = 0; k < 32; k++) {
      if (((value >> BigInt(k)) & 1n) === 0n) continue;
      const i = irqForWrite(b.vic, b.owner, base + k);
      if (i !== undefined) r.set!(i, true);
    }
    wakeTargets(s, b, base);
    return { reg: `${prefix}_${r.name}${(off - r.off) >> 2}` };
  }
  if (off >= 0x0400 && off < 0x0400 + (b.first + b.count)) return priorityAccess(s, b, off - 0x0400, write, size, value, prefix);
  if (off >= 0x0c00 && off < 0x0d00 && size === 4) return configAccess(b, (off - 0x0c00) * 4, write, value, prefix);
  return null;
}

function wakeTargets(s: Machine, b: Bank, base: number): void {
  markDirty(s);
  if (base < GIC.SPI_FIRST) wakeIfDeliverable(s, b.owner);
  else for (const id of b.vic.vcpus) if (id !== 0) wakeIfDeliverable(s, objectAs(s, id, "thread"));
}

function priorityAccess(s: Machine, b: Bank, first: number, write: boolean, size: number, value: bigint, prefix: string): MmioResult {
  const reg = `${prefix}_IPRIORITYR${first >> 2}`;
  if (size !== 1 && size !== 4) return { reg, ...(write ? {} : { value: 0n }) };
  let v = 0n;
  for (let k = 0; k < size; k++) {
    const intid = first + k;
    if (intid < b.first) continue;
    if (write) {
      const i = irqForWrite(b.vic, b.owner, intid);
      if (i !== undefined) i.priority = Number((value >> BigInt(8 * k)) & 0xf8n); // 5 implemented bits
    } else v |= BigInt(irqOf(b.vic, b.owner, intid)?.priority ?? 0) << BigInt(8 * k);
  }
  if (write) wakeTargets(s, b, first);
  return write ? { reg } : { reg, value: v };
}

/** ICFGR: 2 bits per INTID, bit 1 = edge. SGIs are always edge (read-only). */
function configAccess(b: Bank, first: number, write: boolean, value: bigint, prefix: string): MmioResult {
  const reg = `${prefix}_ICFGR${first >> 4}`;
  let v = 0n;
  for (let k = 0; k < 16; k++) {
    const intid = first + k;
    if (intid < b.first || intid >= b.first + b.count) continue;
    if (write && intid > GIC.SGI_LAST) {
      const i = irqForWrite(b.vic, b.owner, intid);
      if (i !== undefined) i.edge = ((value >> BigInt(2 * k + 1)) & 1n) === 1n;
    } else if (!write && (irqOf(b.vic, b.owner, intid) ?? defaultIrq(intid)).edge) v |= 2n << BigInt(2 * k);
  }
  return write ? { reg } : { reg, value: v };
}

/** A distributor access at `off` within the 64 KiB GICD frame. */
export function gicdAccess(s: Machine, vic: VicObject, off: number, write: boolean, size: number, value: bigint): MmioResult {
  if (off === 0x0000) {
    if (write) {
      vic.ctlr = Number(value & 0x3n);
      for (const id of vic.vcpus) if (id !== 0) wakeIfDeliverable(s, objectAs(s, id, "thread"));
      return { reg: "GICD_CTLR" };
    }
    return { reg: "GICD_CTLR", value: BigInt(vic.ctlr) | (1n << 4n) | (1n << 6n) }; // ARE and DS read as one
  }
  if (off === 0x0004) {
    const lines = BigInt(((GIC.SPI_FIRST + vic.maxVirqs + 31) >> 5) - 1);
    return { reg: "GICD_TYPER", ...(write ? {} : { value: lines | (BigInt(Math.min(vic.maxVcpus, 8) - 1) << 5n) | (9n << 19n) | (1n << 25n) }) };
  }
  if (off === 0x0008) return { reg: "GICD_IIDR", ...(write ? {} : { value: IIDR }) };
  if (off === 0x000c) return { reg: "GICD_TYPER2", ...(write ? {} : { value: 0n }) };
  if (off === 0xffe8) return { reg: "GICD_PIDR2", ...(write ? {} : { value: PIDR2 }) };
  if (off >= 0x6100 && off < 0x6000 + 8 * (GIC.SPI_FIRST + vic.maxVirqs) && size === 8) return irouter(s, vic, (off - 0x6000) >> 3, write, value);
  const bank: Bank = { vic, owner: undefined, first: GIC.SPI_FIRST, count: vic.maxVirqs };
  return bankAccess(s, bank, off, write, size, value, "GICD") ?? { reg: `GICD+0x${off.toString(16)}`, ...(write ? {} : { value: 0n }) };
}

/** IROUTER<n>: Aff0 names the vCPU index (default MPIDR mapping). */
function irouter(s: Machine, vic: VicObject, intid: number, write: boolean, value: bigint): MmioResult {
  const reg = `GICD_IROUTER${intid}`;
  if (!write) return { reg, value: BigInt(irqOf(vic, undefined, intid)?.route ?? 0) };
  const i = irqForWrite(vic, undefined, intid);
  const route = Number(value & 0xffn);
  if (i !== undefined && route < vic.maxVcpus) i.route = route;
  markDirty(s);
  wakeIfDeliverable(s, targetOf(s, vic, intid, undefined));
  return { reg };
}

/** A redistributor access at `off` within the GICR of `owner` (RD_base + SGI_base frames). */
export function gicrAccess(s: Machine, vic: VicObject, owner: ThreadObject | undefined, off: number, write: boolean, size: number, value: bigint): MmioResult {
  if (off >= 0x1_0000) {
    const bank: Bank = { vic, owner, first: 0, count: GIC.SPI_FIRST };
    return bankAccess(s, bank, off - 0x1_0000, write, size, value, "GICR") ?? { reg: `GICR_SGI+0x${(off - 0x1_0000).toString(16)}`, ...(write ? {} : { value: 0n }) };
  }
  if (off === 0x0000) return { reg: "GICR_CTLR", ...(write ? {} : { value: 0n }) };
  if (off === 0x0004) return { reg: "GICR_IIDR", ...(write ? {} : { value: IIDR }) };
  if (off === 0x0008 || off === 0x000c) {
    const index = owner?.vicIndex ?? 0;
    const last = index === vic.maxVcpus - 1 ? 1n << 4n : 0n;
    const typer = (BigInt(index) << 32n) | (BigInt(index) << 8n) | last;
    return { reg: "GICR_TYPER", ...(write ? {} : { value: off === 0x8 && size === 8 ? typer : off === 0x8 ? typer & 0xffff_ffffn : typer >> 32n }) };
  }
  if (off === 0x0014) {
    if (owner !== undefined && write) owner.gicr.waker = (value & 2n) === 0n ? 0 : 0x6; // ChildrenAsleep follows ProcessorSleep at once
    return { reg: "GICR_WAKER", ...(write ? {} : { value: BigInt(owner?.gicr.waker ?? 0x6) }) };
  }
  if (off === 0xffe8) return { reg: "GICR_PIDR2", ...(write ? {} : { value: PIDR2 }) };
  return { reg: `GICR+0x${off.toString(16)}`, ...(write ? {} : { value: 0n }) };
}
