/**
 * The guest_memfd-era RM calls (issue 17; reference gunyah-rm-and-host §2 table rows 0x56000031-34,
 * §4.5, §7.6, §11.1). The open RM (quic/gunyah-resource-manager @bf31a9a) defines VM_SET_CONTEXT's
 * ID and nothing else of these: their payloads and order come from the client, the later Linux
 * driver series (CodeLinaro-mirror/linux-kernel_gunyah-linux drivers/virt/gunyah/rsc_mgr_rpc.c
 * gunyah_rm_vm_set_demand_paging, gunyah_rm_vm_set_address_layout, gunyah_rm_vm_set_boot_context;
 * vm_mgr.c gunyah_vm_start). ⚠ Their RM-side checks below (caller is the owner, the VM state) are
 * the model's, by analogy with VM_SET_FIRMWARE_MEM (RM:src/vm_mgnt/vm_mgnt.c:1718-1760).
 *
 * The demand-page provide: Linux's gunyah_vm_provide_folio (vm_mgr_mem.c) donates the folio from a
 * host extent to a guest extent (memextent_donate TO_PROTECTED 3 / TO_SIBLING 2) and maps it
 * (addrspace_map PRIVATE / VMMIO) with MEM_EXTENT (9) and ADDR_SPACE (10) resources the newer RM
 * hands out; neither the donate types nor those resources exist in the open hypervisor and RM. The
 * model provides the page through the open RM's parcels instead (⚠ model choice): a one-page
 * MEM_LEND (lend binding) or MEM_SHARE (share binding) from the host, which the RM accepts for the
 * demand-paged VM at the faulting IPA (`acceptDemandPage`), sanitised on reclaim as lent memory is.
 */
import { MEM_ACCEPT_FLAG, MEM_TYPE, TRANS_TYPE, VMID } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { defectOn } from "../faults.ts";
import { ByteReader } from "./bytes.ts";
import { reply, type RequestHandler, type RmCtx } from "./context.ts";
import { doAccept } from "./memparcel.ts";
import { mapRegions } from "./hv.ts";
import type { RmVm } from "./state.ts";
import { REG_PC, REG_SP_EL0, REG_SP_EL1, withReg } from "../../cpu/index.ts";

export const PAGE = 0x1000;

/** What the guest_memfd calls told the RM about a VM (absent on an RmVm until the first one). */
export interface RmDemandPaging {
  /** VM_SET_DEMAND_PAGING: guest-address ranges whose pages arrive on demand. */
  ranges: { base: number; size: number }[];
  /** VM_SET_ADDRESS_LAYOUT: range_id (0 IMAGE, 1 FIRMWARE) → where it sits. */
  layout: { id: number; base: number; size: number }[];
  /** VM_SET_CONTEXT (Linux VM_SET_BOOT_CONTEXT): the boot vCPU's registers, applied at VM_START. */
  context: { regSet: number; index: number; value: bigint }[];
}

type DemandVm = RmVm & { demand?: RmDemandPaging };

function ownedVm(ctx: RmCtx, vmid: number): DemandVm | "VMID_INVALID" | "DENIED" {
  const vm = ctx.s.rm.vms.byId[vmid] as DemandVm | undefined;
  if (vm === undefined) return "VMID_INVALID";
  return vm.owner === ctx.caller ? vm : "DENIED";
}
const demandOf = (vm: DemandVm): RmDemandPaging => (vm.demand ??= { ranges: [], layout: [], context: [] });
const pageAligned = (x: number): boolean => Number.isSafeInteger(x) && x >= 0 && x % PAGE === 0;

/** VM_SET_DEMAND_PAGING: {vmid u16, res0 u16, range_count u32, ranges[] {addr u64, size u64}}, before VM_INIT. */
export const onVmSetDemandPaging: RequestHandler = (ctx, p) => {
  const r = new ByteReader(p);
  const vmid = r.u16();
  r.u16();
  const n = r.u32();
  if (r.short || p.length !== 8 + 16 * n) return reply("MSG_INVALID");
  const ranges: { base: number; size: number }[] = [];
  for (let i = 0; i < n; i++) ranges.push({ base: r.u64(), size: r.u64() });
  const vm = ownedVm(ctx, vmid);
  if (typeof vm === "string") return reply(vm);
  if (vm.status !== "INIT") return reply("VM_STATE");
  if (ranges.some((x) => !pageAligned(x.base) || !pageAligned(x.size) || x.size === 0)) return reply("ARGUMENT_INVALID");
  demandOf(vm).ranges = ranges;
  return reply("OK");
};

/** VM_SET_ADDRESS_LAYOUT: 24 B {vmid u16, res0 u16, range_id u32 (0 IMAGE, 1 FIRMWARE), base u64, size u64}, before VM_INIT. */
export const onVmSetAddressLayout: RequestHandler = (ctx, p) => {
  if (p.length !== 24) return reply("MSG_INVALID");
  const r = new ByteReader(p);
  const vmid = r.u16();
  r.u16();
  const id = r.u32();
  const base = r.u64();
  const size = r.u64();
  const vm = ownedVm(ctx, vmid);
  if (typeof vm === "string") return reply(vm);
  if (vm.status !== "INIT") return reply("VM_STATE");
  if (id > 1 || !pageAligned(base) || !pageAligned(size)) return reply("ARGUMENT_INVALID");
  const d = demandOf(vm);
  d.layout = d.layout.filter((x) => x.id !== id).concat([{ id, base, size }]);
  return reply("OK");
};

/** VM_SET_CONTEXT: 16 B {vmid u16, reg_set u8 (X 0, PC 1, SP_EL 2), reg_index u8, res0 u32, value u64}; after VM_INIT, before VM_START. */
export const onVmSetContext: RequestHandler = (ctx, p) => {
  if (p.length !== 16) return reply("MSG_INVALID");
  const v = new DataView(p.buffer, p.byteOffset, 16);
  const vmid = v.getUint16(0, true);
  const regSet = p[2]!;
  const index = p[3]!;
  const vm = ownedVm(ctx, vmid);
  if (typeof vm === "string") return reply(vm);
  if (vm.status !== "READY") return reply("VM_STATE");
  const valid = (regSet === 0 && index < 32) || (regSet === 1 && index === 0) || (regSet === 2 && index < 3);
  if (!valid) return reply("ARGUMENT_INVALID");
  const d = demandOf(vm);
  d.context = d.context.filter((x) => x.regSet !== regSet || x.index !== index).concat([{ regSet, index, value: v.getBigUint64(8, true) }]);
  return reply("OK");
};

/** At VM_INIT, once the addrspace exists: the hypervisor learns which ranges fault to the host as PAGE_FAULT. */
export function applyDemandPaging(s: Machine, vm: RmVm): void {
  const ranges = (vm as DemandVm).demand?.ranges;
  const as = objectAs(s, s.rm.hv?.vms[vm.vmid]?.addrspace ?? 0, "addrspace");
  if (ranges === undefined || ranges.length === 0 || as === undefined) return;
  as.demandPaging = ranges.map((r) => ({ base: r.base, size: r.size }));
}

/** Is [gpa, gpa+PAGE) inside one of the VM's demand-paged ranges? */
export function inDemandRange(s: Machine, vmid: number, gpa: number): boolean {
  const ranges = (s.rm.vms.byId[vmid] as DemandVm | undefined)?.demand?.ranges ?? [];
  for (const r of ranges) if (gpa >= r.base && gpa + PAGE <= r.base + r.size) return true;
  return false;
}

/**
 * The RM accepts a one-page parcel the host just lent or shared for the demand-paged VM at the
 * faulting IPA (see the file comment): DONE, and SANITIZE for a lend, as at VM_START for private
 * memory (RM:src/vm_creation/vm_creation.c:2329-2387). The VM must be RUNNING and the IPA inside a
 * demand-paged range (a lend) or the VM's own fault (a share). Returns the RM error.
 */
export function acceptDemandPage(s: Machine, vmid: number, handle: number, gpa: number, lend: boolean): string {
  const vm = s.rm.vms.byId[vmid];
  if (vm === undefined || vm.status !== "RUNNING") return "VM_STATE";
  if (lend && !inDemandRange(s, vmid, gpa)) return "ARGUMENT_INVALID";
  const ctx: RmCtx = { s, caller: vmid, notes: [] };
  const flags = MEM_ACCEPT_FLAG.DONE | (lend ? MEM_ACCEPT_FLAG.SANITIZE : 0);
  const out = doAccept(ctx, vmid, { handle, memType: MEM_TYPE.NORMAL, transType: lend ? TRANS_TYPE.LEND : TRANS_TYPE.SHARE, flags, label: 0, acl: [], sgl: [{ ipa: gpa, size: PAGE }], mapVmid: 0, attrs: [] });
  if (out.err === "OK" && lend && defectOn(s, "demand-page-kept-in-host")) {
    // defect demand-page-kept-in-host (src/model/faults.ts): the host's stage-2 keeps the provided page.
    const parcel = s.rm.parcels.byId[handle];
    const me = parcel === undefined ? undefined : objectAs(s, parcel.memextent, "memextent");
    if (parcel !== undefined && me !== undefined) mapRegions(s, me, VMID.HLOS, parcel.regions, parcel.regions.map((r) => r.ownerIpa), 7);
  }
  return out.err;
}

/**
 * At VM_START, after the RM powered the boot vCPU on: the registers VM_SET_CONTEXT stored (X0..X30,
 * PC, SP_EL0/SP_EL1; SP_EL2 has no meaning for a guest and is ignored).
 */
export function applyBootContext(s: Machine, vm: RmVm, threadId: number): void {
  const ctxRegs = (vm as DemandVm).demand?.context;
  const t = objectAs(s, threadId, "thread");
  if (ctxRegs === undefined || t === undefined) return;
  for (const c of ctxRegs) {
    const reg = c.regSet === 0 ? (c.index < 31 ? c.index : -1) : c.regSet === 1 ? REG_PC : c.index === 0 ? REG_SP_EL0 : c.index === 1 ? REG_SP_EL1 : -1;
    if (reg >= 0) t.cpu = withReg(t.cpu, reg, c.value);
  }
}
