/**
 * Random arguments for the hostile actors: RM requests from the host (any message ID, payloads
 * random or shaped like the message with random fields), ioctls on the hostile VMM's own VM fds,
 * hypercalls and SMCCC calls with random registers, and guest accesses at random addresses.
 * Values come from a dictionary (the caller's caps, VMIDs and handles that exist, addresses of
 * memory that matters, boundary numbers) mixed with uniform noise: uniform 64-bit registers alone
 * almost never name a valid cap or address, so they would test only the first check of each call.
 * Everything here reads the state it is given and never changes it.
 */
import { HYPERCALLS } from "../../model/abi/hypercalls.ts";
import { GIC, PSCI } from "../../model/abi/constants.ts";
import { MEM_RIGHTS, RM_MESSAGES, VMID } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import { ACCESS_BIT, translate } from "../../model/memory/stage2.ts";
import * as P from "../../model/rm/payloads.ts";
import { encodeFwSetVmFirmware, encodeVmSetFirmwareMem } from "../../model/rm/protected.ts";
import { encodeVmConfigBlob } from "../../model/rm/vmconfig.ts";
import type { Step } from "../lib/program.ts";
import { ratio, type Prng } from "../prng.ts";
import { GUEST } from "./world.ts";

const PAGE = 0x1000;
const HALF = ratio(1, 2);
const QUARTER = ratio(1, 4);
const EIGHTH = ratio(1, 8);

/** A uniform 64-bit value. */
const u64 = (p: Prng): bigint => (BigInt(p.u32()) << 32n) | BigInt(p.u32());

/** Numbers at the edges of every check: 0, 1, all ones, sign bits, page sizes and their neighbours. */
const EDGES: readonly bigint[] = [0n, 1n, 2n, 3n, 0xffn, 0xfffn, 0x1000n, 0x1001n, 0xffffn, 0x7fff_ffffn, 0xffff_ffffn, 0x1_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n];

/** What the hostile host knows: VMIDs and parcel handles that exist, host memory worth naming. */
export interface HostView {
  readonly vmids: readonly number[];
  readonly handles: readonly number[];
  readonly ranges: readonly { readonly base: number; readonly size: number }[];
  readonly irqs: readonly number[];
  /** guest_memfd fds the host made (CREATE_GUEST_MEM). */
  readonly guestMems: readonly number[];
}

export function hostView(s: Machine, ranges: readonly { base: number; size: number }[]): HostView {
  return { vmids: [VMID.HLOS, VMID.RM, ...s.rm.vms.ids], handles: [...s.rm.parcels.ids, ...s.rm.irqs.ids], ranges, irqs: [32, 33, 34, 40, 63], guestMems: Object.keys(s.vmm.guestMems ?? {}).map(Number) };
}

const vmidOf = (p: Prng, v: HostView): number => (p.chance(ratio(3, 4)) ? p.pick(v.vmids) : p.pick([0, 1, 2, 63, 64, 0x80, 0xbf, 0xfe, 0xffff, p.rangeInclusive(0, 0xffff)]));
const handleOf = (p: Prng, v: HostView): number => (v.handles.length > 0 && p.chance(ratio(3, 4)) ? p.pick(v.handles) : p.pick([0, 1, 0xffff_ffff, p.u32()]));
/** An address: page-aligned inside memory that matters, sometimes unaligned, huge or random. */
function addressOf(p: Prng, v: HostView): number {
  const k = p.rangeInclusive(0, 9);
  if (k < 6 && v.ranges.length > 0) {
    const r = p.pick(v.ranges);
    return r.base + PAGE * p.rangeInclusive(0, Math.max(0, Math.floor(r.size / PAGE) - 1));
  }
  if (k === 6) return p.rangeInclusive(0, 0xf_ffff) * PAGE;
  if (k === 7) return p.u32() + 1;
  if (k === 8) return Number.MAX_SAFE_INTEGER - p.rangeInclusive(0, 0xfff);
  return 0;
}
const sizeOf = (p: Prng): number => p.pick([0, 1, PAGE - 1, PAGE, 2 * PAGE, 16 * PAGE, p.rangeInclusive(1, 64) * PAGE, 0x1_0000_0000, Number.MAX_SAFE_INTEGER]);
const listOf = <T>(p: Prng, item: () => T, max = 3): T[] => Array.from({ length: p.chance(EIGHTH) ? p.rangeInclusive(0, 600) : p.rangeInclusive(0, max) }, item);

/** Random bytes; mostly short, sometimes long enough to need many RM fragments. */
function noise(p: Prng, max = 64): Uint8Array {
  const n = p.chance(EIGHTH) ? p.rangeInclusive(0, 2000) : p.rangeInclusive(0, max);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = p.rangeInclusive(0, 255);
  return out;
}

const REQUESTS = RM_MESSAGES.filter((m) => m.kind === "request");

/** A random RM request from the host: a known message (or not), a payload shaped like it (or noise). */
export function randomRmRequest(p: Prng, v: HostView): { msgId: number; payload: Uint8Array } {
  const known = p.chance(ratio(15, 16));
  const msg = known ? p.pick(REQUESTS) : p.pick(RM_MESSAGES);
  const msgId = p.chance(ratio(1, 32)) ? p.u32() : msg.id;
  const payload = p.chance(EIGHTH) ? noise(p) : shapedPayload(p, msg.name, v);
  // Linux's driver sends at most 62 fragments of 232 bytes (reference gunyah-rm-and-host §11.3).
  return { msgId, payload: payload.length > LINUX_MESSAGE_BYTES_MAX ? payload.subarray(0, LINUX_MESSAGE_BYTES_MAX) : payload };
}

const LINUX_MESSAGE_BYTES_MAX = 62 * 232;

function shapedPayload(p: Prng, name: string, v: HostView): Uint8Array {
  const acl = () => ({ vmid: vmidOf(p, v), rights: p.chance(HALF) ? MEM_RIGHTS.RW : p.rangeInclusive(0, 0xff) });
  const sgl = () => ({ ipa: addressOf(p, v), size: sizeOf(p) });
  const attr = () => ({ attr: p.rangeInclusive(0, 4), vmid: vmidOf(p, v) });
  switch (name) {
    case "MEM_LEND":
    case "MEM_SHARE":
    case "MEM_DONATE":
      return P.encodeMemCreate({ memType: p.chance(ratio(7, 8)) ? 0 : p.rangeInclusive(0, 3), flags: p.chance(HALF) ? 0 : p.rangeInclusive(0, 0xff), label: p.rangeInclusive(0, 8), acl: listOf(p, acl), sgl: listOf(p, sgl), attrs: p.chance(QUARTER) ? listOf(p, attr) : [] });
    case "MEM_ACCEPT":
      return P.encodeMemAccept({ handle: handleOf(p, v), memType: p.rangeInclusive(0, 1), transType: p.rangeInclusive(0, 3), flags: p.pick([0, 0x80, 0x81, 0x82, 0x84, 0x88, 0x90, 0xa0, p.rangeInclusive(0, 0xff)]), label: p.rangeInclusive(0, 8), acl: p.chance(HALF) ? [] : listOf(p, acl), sgl: p.chance(HALF) ? [] : listOf(p, sgl), mapVmid: p.chance(ratio(7, 8)) ? 0 : vmidOf(p, v), attrs: [] });
    case "MEM_RELEASE":
    case "MEM_RECLAIM":
      return P.encodeMemHandle({ handle: handleOf(p, v), flags: p.pick([0, 1, p.rangeInclusive(0, 0xff)]) });
    case "MEM_NOTIFY":
      return P.encodeMemNotify({ handle: handleOf(p, v), flags: p.pick([1, 2, 4, 8, p.rangeInclusive(0, 0xff)]), memInfoTag: p.u32(), vmids: listOf(p, () => vmidOf(p, v)) });
    case "VM_STOP":
      return P.encodeVmStop({ vmid: vmidOf(p, v), flags: p.pick([0, 1, p.rangeInclusive(0, 0xff)]), stopReason: p.pick([0, 3, p.u32()]) });
    case "VM_EXIT":
      return P.encodeVmExit({ exitFlags: p.rangeInclusive(0, 0xffff), exitCode: p.rangeInclusive(0, 8), res0: p.chance(HALF) ? 0 : 1 });
    case "VM_CONFIG_IMAGE":
      return P.encodeVmConfigImage({ vmid: vmidOf(p, v), authType: p.rangeInclusive(0, 3), imageHandle: handleOf(p, v), imageOffset: p.pick([0, PAGE, p.u32()]), imageSize: sizeOf(p), dtOffset: p.pick([0, 0x1f_0000, p.u32()]), dtSize: p.pick([0, 0x1000, p.u32()]) });
    case "VM_SET_FIRMWARE_MEM":
      return encodeVmSetFirmwareMem({ vmid: vmidOf(p, v), handle: handleOf(p, v), offset: p.pick([0, PAGE, p.u32()]), size: sizeOf(p) });
    case "FW_SET_VM_FIRMWARE":
      return encodeFwSetVmFirmware({ authType: p.rangeInclusive(0, 3), handle: handleOf(p, v), offset: p.pick([0, p.u32()]), size: sizeOf(p) });
    case "FW_MILESTONE":
    case "VM_GET_VMID":
      return p.chance(HALF) ? new Uint8Array(0) : noise(p, 8);
    case "VM_IRQ_LEND":
      return P.encodeIrqLend({ borrower: vmidOf(p, v), virq: p.pick([...v.irqs, p.u32()]), label: p.rangeInclusive(0, 8) });
    case "VM_IRQ_ACCEPT":
    case "VM_IRQ_RELEASE":
    case "VM_IRQ_RECLAIM":
    case "VM_IRQ_NOTIFY":
    case "VM_IRQ_UNMAP":
      return P.encodeU32s(...Array.from({ length: p.rangeInclusive(1, 4) }, () => (p.chance(HALF) ? handleOf(p, v) : p.pick([...v.irqs, 0xffff_ffff, p.u32()]))));
    case "VM_SET_CRASH_MSG":
    case "VM_CONSOLE_WRITE":
      return noise(p, 40);
    default:
      // The many messages whose payload is one VMID (VM_START, VM_RESET, VM_INIT, VM_GET_STATE, ...).
      return p.chance(ratio(7, 8)) ? P.encodeVmid(vmidOf(p, v)) : noise(p, 12);
  }
}

/**
 * A random ioctl on one of the hostile VMM's own VM fds (or CREATE_VM); with `guestMem` (the world
 * has demand-paging) the guest_memfd ioctls too.
 */
export function randomIoctl(p: Prng, fds: readonly number[], v: HostView, guestMem = false): Step {
  if (fds.length === 0 || p.chance(ratio(1, 16))) return { kind: "vmm_ioctl", op: "CREATE_VM" };
  const fd = p.pick(fds);
  const gpa = () => p.pick([GUEST.ramGpa, GUEST.ramGpa + 0x100_0000, GUEST.firmwareGpa, 0, addressOf(p, v)]);
  if (guestMem && p.chance(QUARTER)) return randomGuestMemIoctl(p, fd, v, gpa);
  switch (p.rangeInclusive(0, 9)) {
    case 0:
    case 1:
      return { kind: "vmm_ioctl", op: p.pick(["SET_USER_MEM_REGION", "ANDROID_LEND_USER_MEM"] as const), fd, label: p.rangeInclusive(0, 4), flags: p.pick([6, 7, 4, p.rangeInclusive(0, 0xff)]), guestPhysAddr: gpa(), memorySize: p.pick([PAGE, 16 * PAGE, 0x20_0000, sizeOf(p)]), userspaceAddr: addressOf(p, v) };
    case 2: {
      const dtb = p.chance(HALF) ? encodeVmConfigBlob({ baseAddress: gpa(), vcpus: p.rangeInclusive(0, 9), memory: [{ label: p.rangeInclusive(0, 3), base: gpa() }], bells: [{ label: 33, irq: p.pick([33, 0, 1020, 5000]) }], vmAttrs: p.chance(QUARTER) ? ["no-shutdown"] : [] }) : noise(p, 200);
      return { kind: "vmm_ioctl", op: "SET_DTB_CONFIG", fd, guestPhysAddr: gpa() + 0x1f_0000, size: p.pick([0x1000, 0, 16]), dtb };
    }
    case 3:
      return { kind: "vmm_ioctl", op: "ADD_VCPU", fd, id: p.pick([0, 1, 2, 7, 8, 63, 1000]) };
    case 4:
      return { kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: p.pick([33, 34, 0, 1019, p.u32()]), level: p.chance(HALF) };
    case 5:
      return { kind: "vmm_ioctl", op: "ADD_IOEVENTFD", fd, addr: p.pick([GUEST.mmioBase + 0x50, addressOf(p, v)]), len: p.pick([0, 1, 2, 3, 4, 8, 16]) };
    case 6:
      return { kind: "vmm_ioctl", op: "ANDROID_SET_FW_CONFIG", fd, guestPhysAddr: gpa(), size: p.pick([0x40_0000, PAGE, 0, sizeOf(p)]) };
    case 7:
      return { kind: "vmm_ioctl", op: "START", fd };
    case 8:
      return { kind: "vmm_ioctl", op: "VCPU_RUN", fd, vcpu: p.pick([0, 0, 1, 3, 8, 1000]) };
    default:
      return { kind: "vmm_ioctl", op: "RELEASE", fd };
  }
}

/** GUNYAH_CREATE_GUEST_MEM, GUNYAH_VM_MAP_MEM, GUNYAH_VM_SET_BOOT_CONTEXT with random arguments (src/model/vmm/gmem.ts). */
function randomGuestMemIoctl(p: Prng, fd: number, v: HostView, gpa: () => number): Step {
  switch (p.rangeInclusive(0, 2)) {
    case 0:
      return { kind: "vmm_ioctl", op: "CREATE_GUEST_MEM", size: p.pick([PAGE, 16 * PAGE, 0, PAGE + 1, sizeOf(p)]), hostAddr: addressOf(p, v) };
    case 1: {
      const guestMemFd = v.guestMems.length > 0 && p.chance(ratio(3, 4)) ? p.pick(v.guestMems) : p.pick([0, fd, 1000, p.u32()]);
      const flags = p.pick([0x31, 0x32, 0x11, 0x33, 0x131, 0, p.rangeInclusive(0, 0x1ff)]);
      return { kind: "vmm_ioctl", op: "VM_MAP_MEM", fd, guestMemFd, guestAddr: gpa(), offset: p.pick([0, PAGE, 1, sizeOf(p)]), size: p.pick([PAGE, 16 * PAGE, 0, sizeOf(p)]), flags };
    }
    default:
      return { kind: "vmm_ioctl", op: "VM_SET_BOOT_CONTEXT", fd, reg: p.pick([0x201, 0x100, 0x000, 0x01f, 0x020, 0x101, 0x203, 0xffff, p.u32()]), value: BigInt(p.u32()) << 32n | BigInt(p.u32()) };
  }
}

/** What a hostile guest knows: its VMID, its caps, the IPAs of its memory. */
export interface GuestView {
  readonly vm: number;
  readonly caps: readonly bigint[];
  readonly ipas: readonly number[];
}

export function guestView(s: Machine, vm: number, ipas: readonly number[]): GuestView {
  const cs = s.rm.hv?.vms[vm]?.cspace;
  const o = cs === undefined ? undefined : s.objects.byId[cs];
  const caps = o !== undefined && o.type === "cspace" ? Object.keys(o.caps).map((k) => BigInt(k)) : [];
  return { vm, caps, ipas };
}

const HYPERCALL_NUMBERS = Object.values(HYPERCALLS) as number[];

function register(p: Prng, g: GuestView): bigint {
  const k = p.rangeInclusive(0, 9);
  if (k <= 2 && g.caps.length > 0) return p.pick(g.caps);
  if (k <= 4 && g.ipas.length > 0) return BigInt(p.pick(g.ipas) + PAGE * p.rangeInclusive(0, 3));
  if (k <= 7) return p.pick(EDGES);
  return u64(p);
}

/** A hypercall with random registers: a known call number most of the time, X0..X7 from the dictionary. */
export function randomHypercall(p: Prng, g: GuestView, vcpu: number): Step {
  const call = p.chance(ratio(7, 8)) ? p.pick(HYPERCALL_NUMBERS) : p.rangeInclusive(0, 0x1ff);
  const args = Array.from({ length: p.rangeInclusive(0, 8) }, () => register(p, g));
  const data = p.chance(QUARTER) ? noise(p, 300) : undefined;
  return { kind: "hypercall", vm: g.vm, vcpu, call, args, ...(data === undefined ? {} : { data }) };
}

/**
 * An SMCCC call: PSCI and SMCCC queries, a Gunyah hypercall by its SMCCC ID, or any function ID.
 * SYSTEM_OFF/RESET end the VM, so they are rare; CPU_OFF of the calling vCPU leaves a hung guest.
 */
export function randomSmccc(p: Prng, g: GuestView, vcpu: number): Step {
  const ids = [PSCI.VERSION, PSCI.FEATURES, PSCI.CPU_ON_64, PSCI.CPU_ON_32, PSCI.AFFINITY_INFO_64, PSCI.CPU_SUSPEND_64, 0x8000_0000, 0x8000_0001, 0x8600_ff01, 0x8600_ff03, 0xc600_8000 + p.pick(HYPERCALL_NUMBERS)];
  const rare = [PSCI.CPU_OFF, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.SYSTEM_RESET2_64];
  const fid = p.chance(ratio(1, 40)) ? p.pick(rare) : p.chance(ratio(7, 8)) ? p.pick(ids) : p.u32();
  const args = [BigInt(fid), ...Array.from({ length: p.rangeInclusive(0, 7) }, () => register(p, g))];
  return { kind: "smccc_call", vm: g.vm, vcpu, conduit: p.chance(ratio(3, 4)) ? "hvc" : "smc", args };
}

/**
 * A guest load, store or fetch at a random address: its own memory, its devices, the GIC frames,
 * the firmware window, or anywhere. Satisfied by its stage-2 (guest_access; a store is a
 * vm_mem_write, so the page holds the guest's data), or a stage-2 fault Gunyah resolves (emulated,
 * forwarded to the VMM, or an abort injected).
 */
export function randomAccess(p: Prng, s: Machine, g: GuestView, vcpu: number): Step {
  const k = p.rangeInclusive(0, 9);
  let ipa: number;
  if (k <= 3 && g.ipas.length > 0) ipa = p.pick(g.ipas) + 8 * p.rangeInclusive(0, 511);
  else if (k === 4) ipa = GUEST.mmioBase + p.rangeInclusive(0, 3) * GUEST.mmioStride + 4 * p.rangeInclusive(0, 0x7f);
  else if (k === 5) ipa = GIC.GICD_BASE + 4 * p.rangeInclusive(0, 0x3fff);
  else if (k === 6) ipa = GIC.GICR_BASE + 4 * p.rangeInclusive(0, 0x1_ffff);
  else if (k === 7) ipa = GUEST.firmwareGpa + PAGE * p.rangeInclusive(0, 0x3ff);
  else ipa = p.rangeInclusive(0, 0xff_ffff) * PAGE + 8 * p.rangeInclusive(0, 511);
  const access = p.pick(["read", "read", "write", "write", "exec"] as const);
  const sizeBytes = p.pick([1, 2, 4, 8] as const);
  ipa -= ipa % sizeBytes;
  const tr = translate(s, g.vm, ipa);
  if (tr !== null && (tr.access & ACCESS_BIT[access]) !== 0) {
    if (access === "write") return { kind: "vm_mem_write", vm: g.vm, ipa, data: Uint8Array.from({ length: sizeBytes }, () => p.rangeInclusive(0, 255)) };
    return { kind: "guest_access", vm: g.vm, vcpu, ipa, access, sizeBytes };
  }
  const fsc = p.chance(ratio(1, 64)) ? { fsc: p.pick(["access_flag", "external_walk"] as const) } : {};
  return { kind: "stage2_fault", vm: g.vm, vcpu, ipa, access, sizeBytes, ...(access === "write" ? { value: register(p, g) } : { reg: p.rangeInclusive(0, 30) }), ...fsc };
}
