/**
 * The guest_memfd-era Linux Gunyah driver beside the GH_ one (issue 17): guest_memfd files bound to
 * a VM (lend or share per binding), the RM told which ranges are demand-paged and where the image
 * sits, the boot context, and pages provided one at a time on the vcpu_run PAGE_FAULT exit.
 * Sources: CodeLinaro-mirror/linux-kernel_gunyah-linux drivers/virt/gunyah/guest_memfd.c
 * (gunyah_gmem_modify_binding, gunyah_gmem_setup_demand_paging, gunyah_gmem_demand_page),
 * vm_mgr.c (gunyah_vm_start: VM_SET_DEMAND_PAGING, VM_SET_ADDRESS_LAYOUT before VM_INIT, boot
 * context after), gunyah_vcpu.c (PAGE_FAULT: demand-page, then resume with RETRY); reference
 * gunyah-rm-and-host §4.5, §7.1, §7.3, §7.5, §7.6. How the page reaches the VM: rm/demand.ts.
 */
import { MEM_RIGHTS, VMID, type RmMessageName } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import * as P from "../rm/payloads.ts";
import { ByteWriter } from "../rm/bytes.ts";
import { acceptDemandPage, PAGE } from "../rm/demand.ts";
import { reaches } from "../rm/content.ts";
import { ERRNO, rmErrno, type VmmGmemVm, type VmmVm } from "./state.ts";

/** Upstream v17 gunyah_map_flags (reference §7.3): DEFAULT_ACCESS 0 is a lend in the later driver (all VMs protected). */
export const GMEM_FLAG = { FORCE_LEND: 1, FORCE_SHARE: 2, ACCESS_MASK: 0x7, ALLOW_READ: 0x10, ALLOW_WRITE: 0x20, ALLOW_EXEC: 0x40, ALLOW_MASK: 0x70, UNMAP: 0x100 } as const;

type RmCall = (msg: RmMessageName, payload: Uint8Array) => { err: string; data: Uint8Array };
const aligned = (x: number): boolean => Number.isSafeInteger(x) && x >= 0 && x % PAGE === 0;
const gmemOf = (vm: VmmVm): VmmGmemVm => (vm.gmem ??= { bindings: [], bootContext: [], provided: [] });

/** CREATE_GUEST_MEM: the host's folios for it must be its own, page-aligned memory. Returns the fd or -errno. */
export function createGuestMem(s: Machine, size: number, hostAddr: number): number {
  if (!aligned(size) || size === 0 || !aligned(hostAddr)) return -ERRNO.EINVAL;
  if (!reaches(s, VMID.HLOS, hostAddr, size, 6)) return -ERRNO.ENOMEM;
  const fd = s.vmm.nextFd++;
  (s.vmm.guestMems ??= {})[fd] = { fd, size, hostAddr };
  return fd;
}

/**
 * VM_MAP_MEM (gunyah_gmem_modify_binding): page-aligned, inside the file, at least one ALLOW bit,
 * not both FORCE flags, no overlap with another binding in guest space or in file offset; only
 * before start. UNMAP is not modelled (-EOPNOTSUPP).
 */
export function mapMem(s: Machine, vm: VmmVm, ev: { guestMemFd: number; guestAddr: number; offset: number; size: number; flags: number }): number {
  const file = s.vmm.guestMems?.[ev.guestMemFd];
  if (file === undefined) return -ERRNO.EINVAL;
  if ((ev.flags & GMEM_FLAG.UNMAP) !== 0) return -ERRNO.EOPNOTSUPP;
  const access = ev.flags & GMEM_FLAG.ACCESS_MASK;
  if ((ev.flags & ~(GMEM_FLAG.ACCESS_MASK | GMEM_FLAG.ALLOW_MASK)) !== 0 || access > 2 || (ev.flags & GMEM_FLAG.ALLOW_MASK) === 0) return -ERRNO.EINVAL;
  if (![ev.guestAddr, ev.offset, ev.size].every(aligned) || ev.size === 0 || ev.offset + ev.size > file.size) return -ERRNO.EINVAL;
  if (vm.status !== "LOAD") return -ERRNO.EBUSY;
  const g = gmemOf(vm);
  for (const b of g.bindings) {
    if (b.guestAddr < ev.guestAddr + ev.size && ev.guestAddr < b.guestAddr + b.size) return -ERRNO.EEXIST;
    if (b.guestMemFd === ev.guestMemFd && b.offset < ev.offset + ev.size && ev.offset < b.offset + b.size) return -ERRNO.EEXIST;
  }
  for (const r of vm.regions) if (r.guestPhysAddr < ev.guestAddr + ev.size && ev.guestAddr < r.guestPhysAddr + r.size) return -ERRNO.EEXIST;
  g.bindings.push({ guestMemFd: ev.guestMemFd, guestAddr: ev.guestAddr, offset: ev.offset, size: ev.size, lend: access !== GMEM_FLAG.FORCE_SHARE, write: (ev.flags & GMEM_FLAG.ALLOW_WRITE) !== 0 });
  return 0;
}

/** VM_SET_BOOT_CONTEXT: reg = reg_set << 8 | index (X 0: 0..31, PC 1: 0, SP 2: 0..2); only before start. */
export function setBootContext(vm: VmmVm, reg: number, value: bigint): number {
  const set = reg >>> 8, index = reg & 0xff;
  const ok = Number.isInteger(reg) && reg >= 0 && reg <= 0xffff && ((set === 0 && index < 32) || (set === 1 && index === 0) || (set === 2 && index < 3));
  if (!ok) return -ERRNO.EINVAL;
  if (vm.status !== "LOAD") return -ERRNO.EBUSY;
  const g = gmemOf(vm);
  g.bootContext = g.bootContext.filter((c) => c.reg !== reg).concat([{ reg, value: BigInt.asUintN(64, value) }]);
  return 0;
}

/** Before VM_INIT (gunyah_vm_start steps 5-6): VM_SET_DEMAND_PAGING with every lend binding, VM_SET_ADDRESS_LAYOUT(IMAGE). */
export function beforeInit(vm: VmmVm, image: { guestPhysAddr: number; size: number }): [RmMessageName, Uint8Array][] {
  if (vm.gmem === undefined || vm.gmem.bindings.length === 0) return [];
  const lends = vm.gmem.bindings.filter((b) => b.lend);
  const dp = new ByteWriter().u16(vm.vmid).u16(0).u32(lends.length);
  for (const b of lends) dp.u64(b.guestAddr).u64(b.size);
  const layout = new ByteWriter().u16(vm.vmid).u16(0).u32(0).u64(image.guestPhysAddr).u64(image.size);
  return [["VM_SET_DEMAND_PAGING", dp.done()], ["VM_SET_ADDRESS_LAYOUT", layout.done()]];
}

/** After VM_INIT (step 8): one VM_SET_CONTEXT per stored register. */
export function afterInit(vm: VmmVm): [RmMessageName, Uint8Array][] {
  return (vm.gmem?.bootContext ?? []).map((c) => ["VM_SET_CONTEXT", new ByteWriter().u16(vm.vmid).u8(c.reg >>> 8).u8(c.reg & 0xff).u32(0).u64(c.value).done()]);
}

/**
 * gunyah_gmem_demand_page: the binding holding the page (-ENOENT if none), write permission
 * (-EPERM for a write to a binding without ALLOW_WRITE), a page already provided (-EEXIST ⚠), then
 * the provide: one MEM_LEND (lend) or MEM_SHARE (share) of the host folio, ACL [vm: RWX or RX] or
 * [vm: RW or R, host: RW] as gunyah_vm_provide_folio chooses the access, accepted by the RM at the
 * page (rm/demand.ts). Returns 0 or -errno and what was provided.
 */
export function demandPage(s: Machine, vm: VmmVm, call: RmCall, gpa: number, write: boolean): { ret: number; provided?: { gpa: number; hostAddr: number; handle: number; lend: boolean } } {
  const page = gpa - (gpa % PAGE);
  const b = vm.gmem?.bindings.find((x) => page >= x.guestAddr && page < x.guestAddr + x.size);
  if (b === undefined) return { ret: -ERRNO.ENOENT };
  if (write && !b.write) return { ret: -ERRNO.EPERM };
  const g = vm.gmem!;
  if (g.provided.some((p) => p.gpa === page)) return { ret: -ERRNO.EEXIST };
  const hostAddr = s.vmm.guestMems![b.guestMemFd]!.hostAddr + b.offset + (page - b.guestAddr);
  const rights = b.lend ? (b.write ? MEM_RIGHTS.RWX : MEM_RIGHTS.R | MEM_RIGHTS.X) : b.write ? MEM_RIGHTS.RW : MEM_RIGHTS.R;
  const acl = b.lend ? [{ vmid: vm.vmid, rights }] : [{ vmid: vm.vmid, rights }, { vmid: VMID.HLOS, rights: MEM_RIGHTS.RW }];
  const out = call(b.lend ? "MEM_LEND" : "MEM_SHARE", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl, sgl: [{ ipa: hostAddr, size: PAGE }], attrs: [] }));
  if (out.err !== "OK") return { ret: rmErrno(out.err) };
  const handle = out.data.length >= 4 ? new DataView(out.data.buffer, out.data.byteOffset).getUint32(0, true) : 0;
  const err = acceptDemandPage(s, vm.vmid, handle, page, b.lend);
  if (err !== "OK") {
    call("MEM_RECLAIM", P.encodeMemHandle({ handle, flags: 0 }));
    return { ret: rmErrno(err) };
  }
  const provided = { gpa: page, hostAddr, handle, lend: b.lend };
  g.provided.push(provided);
  return { ret: 0, provided: { ...provided } };
}

/** Teardown step 4 (reclaim all demand-paged folios): MEM_RECLAIM of each provided page, after VM_RESET released them. */
export function reclaimDemandPages(vm: VmmVm, call: RmCall): void {
  const g = vm.gmem;
  if (g === undefined) return;
  for (const p of g.provided) call("MEM_RECLAIM", P.encodeMemHandle({ handle: p.handle, flags: 0 }));
  g.provided = [];
}
