/**
 * IRQ lending between VMs: VM_IRQ_LEND, ACCEPT, RELEASE, RECLAIM, NOTIFY (RM:src/irq_manager/
 * irq_manager.c; reference §2.4, §5). Only a hardware SPI bound in the owner's VIC lends. The RM
 * moves the hwirq binding in the vGIC (hwirq_unbind_virq / hwirq_bind_virq, hv.ts): unbound from
 * the owner's VIRQ at LEND, bound to the borrower's VIRQ at ACCEPT, unbound at RELEASE (and the
 * borrower's reset), rebound to the owner's VIRQ at RECLAIM. A hardware `irq` therefore reaches
 * the borrower only between accept and release, and the owner only when not lent.
 */
import { VIRQ_ANY, VIRQ_NOTIFY_FLAG } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { notify, reply, type RequestHandler, type RmCtx } from "./context.ts";
import { decodeIrqLend, decodeU32s, encodeIrqLent } from "./payloads.ts";
import { addId, dropId, type IrqLending } from "./state.ts";
import { bindHwirq, hwirqBinding, unbindHwirq } from "./hv.ts";

const u32 = (v: number): Uint8Array => new ByteWriter().u32(v).done();
const isSpi = (virq: number): boolean => virq >= 32 && virq <= 1019;

/** The virq `vmid` currently receives for a lent IRQ (borrower side), or null. */
export function lentIrqOf(s: { rm: { irqs: { ids: number[]; byId: Record<number, IrqLending> } } }, vmid: number, virq: number): IrqLending | null {
  for (const h of s.rm.irqs.ids) {
    const l = s.rm.irqs.byId[h]!;
    if (l.state === "ACCEPTED" && l.borrower === vmid && l.borrowerVirq === virq) return l;
  }
  return null;
}

export const onIrqLend: RequestHandler = (ctx, p) => {
  const m = p.length === 12 ? decodeIrqLend(p) : null;
  if (m === null) return reply("MSG_INVALID");
  if (ctx.s.rm.vms.byId[m.borrower] === undefined || m.borrower === ctx.caller) return reply("VMID_INVALID");
  if (!isSpi(m.virq)) return reply("IRQ_INVALID");
  const handle = ctx.s.rm.irqHandleBase + m.virq;
  const existing = ctx.s.rm.irqs.byId[handle];
  if (existing !== undefined) return reply("IRQ_INUSE");
  // The owner must have the HW IRQ mapped BOUND at this vIRQ (identity numbering, hv.ts bootHlos).
  const b = hwirqBinding(ctx.s, m.virq);
  if (b === null || b.vic !== ctx.s.rm.hv?.vms[ctx.caller]?.vic || b.virq !== m.virq) return reply("IRQ_INVALID");
  unbindHwirq(ctx.s, m.virq);
  addId(ctx.s.rm.irqs, handle, { handle, owner: ctx.caller, borrower: m.borrower, virq: m.virq, hwirq: m.virq, label: m.label, state: "OFFERED", borrowerVirq: 0 });
  return reply("OK", u32(handle));
};

function lendingFor(ctx: RmCtx, handle: number, role: "owner" | "borrower"): IrqLending | null {
  const l = ctx.s.rm.irqs.byId[handle];
  if (l === undefined) return null;
  return (role === "owner" ? l.owner : l.borrower) === ctx.caller ? l : null;
}

/** VM_IRQ_ACCEPT {handle, virq}: virq 0xFFFFFFFF takes the same number as the owner's IRQ. */
export const onIrqAccept: RequestHandler = (ctx, p) => {
  const w = p.length === 8 ? decodeU32s(p, 2) : null;
  if (w === null) return reply("MSG_INVALID");
  const l = lendingFor(ctx, w[0]!, "borrower");
  if (l === null) return reply("HANDLE_INVALID");
  if (l.state !== "OFFERED") return reply("IN_USE");
  const virq = w[1] === VIRQ_ANY ? l.virq : w[1]!;
  if (!isSpi(virq)) return reply("IRQ_INVALID");
  const vic = ctx.s.rm.hv?.vms[l.borrower]?.vic ?? 0;
  // The borrower's VIRQ must be free in its VIC (vic_bind_shared BUSY / out of range ⇒ IRQ_INVALID ⚠).
  if (bindHwirq(ctx.s, l.hwirq, vic, virq) !== null) return reply("IRQ_INVALID");
  l.state = "ACCEPTED";
  l.borrowerVirq = virq;
  return reply("OK", u32(virq));
};

export const onIrqRelease: RequestHandler = (ctx, p) => {
  const w = p.length === 4 ? decodeU32s(p, 1) : null;
  if (w === null) return reply("MSG_INVALID");
  const l = lendingFor(ctx, w[0]!, "borrower");
  if (l === null) return reply("HANDLE_INVALID");
  if (l.state !== "ACCEPTED") return reply("IN_USE");
  unbindHwirq(ctx.s, l.hwirq);
  l.state = "OFFERED";
  l.borrowerVirq = 0;
  return reply("OK");
};

export const onIrqReclaim: RequestHandler = (ctx, p) => {
  const w = p.length === 4 ? decodeU32s(p, 1) : null;
  if (w === null) return reply("MSG_INVALID");
  const l = lendingFor(ctx, w[0]!, "owner");
  if (l === null) return reply("HANDLE_INVALID");
  if (l.state === "ACCEPTED") return reply("IN_USE");
  const ownerVic = ctx.s.rm.hv?.vms[l.owner]?.vic;
  if (ownerVic !== undefined) bindHwirq(ctx.s, l.hwirq, ownerVic, l.virq);
  dropId(ctx.s.rm.irqs, l.handle);
  return reply("OK");
};

/** VM_IRQ_NOTIFY {handle, flags}: LENT by the owner; ACCEPTED/RELEASED by the borrower, matching its state. */
export const onIrqNotify: RequestHandler = (ctx, p) => {
  const w = p.length >= 8 ? decodeU32s(p, 2) : null;
  if (w === null) return reply("MSG_INVALID");
  const [handle, flags] = [w[0]!, w[1]!];
  if (flags === VIRQ_NOTIFY_FLAG.LENT) {
    const l = lendingFor(ctx, handle, "owner");
    if (l === null) return reply("HANDLE_INVALID");
    if (l.state !== "OFFERED") return reply("IRQ_INUSE");
    notify(ctx, l.borrower, "NOTIFY_VM_IRQ_LENT", encodeIrqLent(l.owner, l.handle, l.label));
    return reply("OK");
  }
  const l = lendingFor(ctx, handle, "borrower");
  if (l === null) return reply("HANDLE_INVALID");
  if (flags === VIRQ_NOTIFY_FLAG.ACCEPTED) {
    if (l.state !== "ACCEPTED") return reply("IRQ_RELEASED");
    notify(ctx, l.owner, "NOTIFY_VM_IRQ_ACCEPTED", u32(l.handle));
    return reply("OK");
  }
  if (flags === VIRQ_NOTIFY_FLAG.RELEASED) {
    if (l.state !== "OFFERED") return reply("IRQ_INUSE");
    notify(ctx, l.owner, "NOTIFY_VM_IRQ_RELEASED", u32(l.handle));
    return reply("OK");
  }
  return reply("ARGUMENT_INVALID");
};

/** Reset stage RELEASE_IRQS: whatever the VM accepted goes back to OFFERED. */
export function releaseAllIrqs(ctx: RmCtx, vmid: number): void {
  for (const h of ctx.s.rm.irqs.ids) {
    const l = ctx.s.rm.irqs.byId[h]!;
    if (l.borrower === vmid && l.state === "ACCEPTED") {
      unbindHwirq(ctx.s, l.hwirq);
      l.state = "OFFERED";
      l.borrowerVirq = 0;
    }
  }
}
