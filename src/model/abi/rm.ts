/**
 * The Resource Manager's ABI: RPC message IDs, RM error codes, VM and OS states, exit types and
 * codes, memory-parcel constants. Names as the RM spells them (RM:include/*_message.h,
 * RM:include/rm_types.h, RM:include/memparcel_msg.h), values from
 * shared/reference/gunyah-rm-and-host.md §1-§4 (quic/gunyah-resource-manager @bf31a9a).
 */

/** One RM RPC message: its RM name and 32-bit ID. `kind` says which way it flows. */
export interface RmMessage {
  readonly name: string;
  readonly id: number;
  readonly kind: "request" | "notification";
}

const req = (name: string, id: number): RmMessage => ({ name, id, kind: "request" });
const notif = (name: string, id: number): RmMessage => ({ name, id, kind: "notification" });

/** Every RM message ID this model knows (reference §2.1-§2.6), in ID order within each family. */
export const RM_MESSAGES: readonly RmMessage[] = [
  // VM management and creation (RM:include/vm_mgnt_message.h, vm_creation_message.h)
  req("VM_ALLOCATE", 0x56000001),
  req("VM_DEALLOCATE", 0x56000002),
  req("VM_START", 0x56000004),
  req("VM_STOP", 0x56000005),
  req("VM_RESET", 0x56000006),
  req("VM_SUSPEND", 0x56000007),
  req("VM_RESUME", 0x56000008),
  req("VM_CONFIG_IMAGE", 0x56000009),
  req("VM_AUTH_IMAGE", 0x5600000a),
  req("VM_INIT", 0x5600000b),
  req("VM_GET_ID", 0x56000010),
  req("VM_LOOKUP_URI", 0x56000011),
  req("VM_LOOKUP_GUID", 0x56000012),
  req("VM_LOOKUP_NAME", 0x56000013),
  req("VM_GET_OWNER", 0x56000015),
  req("VM_GET_STATE", 0x56000017),
  req("VM_GET_CRASH_MSG", 0x56000019),
  req("VM_GET_HYP_RESOURCES", 0x56000020),
  req("VM_GET_HYP_CAPIDS", 0x56000021),
  req("VM_GET_HYP_IRQS", 0x56000022),
  req("VM_GET_VMID", 0x56000024),
  req("VM_GET_PEERS", 0x56000025),
  req("VM_SET_TIME_BASE", 0x56000030),
  req("VM_SET_CONTEXT", 0x56000031),
  req("VM_SET_FIRMWARE_MEM", 0x56000032),
  req("VM_SET_DEMAND_PAGING", 0x56000033),
  req("VM_SET_ADDRESS_LAYOUT", 0x56000034),
  req("VM_IRQ_ACCEPT", 0x56000050),
  req("VM_IRQ_LEND", 0x56000051),
  req("VM_IRQ_RELEASE", 0x56000052),
  req("VM_IRQ_RECLAIM", 0x56000053),
  req("VM_IRQ_NOTIFY", 0x56000054),
  req("VM_IRQ_UNMAP", 0x56000055),
  req("VM_SET_STATUS", 0x56000080),
  req("VM_CONSOLE_OPEN", 0x56000081),
  req("VM_CONSOLE_CLOSE", 0x56000082),
  req("VM_CONSOLE_WRITE", 0x56000083),
  req("VM_CONSOLE_FLUSH", 0x56000084),
  req("VM_EXIT", 0x56000085),
  req("VM_SET_CRASH_MSG", 0x56000086),
  req("VM_HOST_GET_TYPE", 0x560000a0),
  req("IPA_RESERVE", 0x560000b0),
  req("IPA_UNRESERVE", 0x560000b1),
  // Notifications to clients (reference §2.4, §2.5, §2.6)
  notif("NOTIFY_VM_EXITED", 0x56100001),
  notif("NOTIFY_VM_SHUTDOWN", 0x56100002),
  notif("NOTIFY_VM_STATUS", 0x56100008),
  notif("NOTIFY_VM_IRQ_LENT", 0x56100011),
  notif("NOTIFY_VM_IRQ_RELEASED", 0x56100012),
  notif("NOTIFY_VM_IRQ_ACCEPTED", 0x56100013),
  notif("NOTIFY_VM_CONSOLE_CHARS", 0x56100080),
  // Memory parcels (RM:include/memparcel_msg.h) and firmware (RM:include/vm_firmware_message.h)
  req("MEM_DONATE", 0x51000010),
  req("MEM_ACCEPT", 0x51000011),
  req("MEM_LEND", 0x51000012),
  req("MEM_SHARE", 0x51000013),
  req("MEM_RELEASE", 0x51000014),
  req("MEM_RECLAIM", 0x51000015),
  req("MEM_NOTIFY", 0x51000017),
  req("MEM_APPEND", 0x51000018),
  req("MEM_QCOM_LOOKUP_SGL", 0x5100001a),
  req("FW_MILESTONE", 0x51000020),
  req("FW_SET_VM_FIRMWARE", 0x51000021),
  notif("MEM_SHARED", 0x51100011),
  notif("MEM_RELEASED", 0x51100012),
  notif("MEM_ACCEPTED", 0x51100013),
  notif("MEM_RECALL", 0x51100014),
];

const byId = new Map<number, RmMessage>(RM_MESSAGES.map((m) => [m.id, m]));
const byName = new Map<string, RmMessage>(RM_MESSAGES.map((m) => [m.name, m]));

/** The message's RM name, or undefined for an ID the RM does not define (answered UNIMPLEMENTED). */
export function rmMessageName(id: number): string | undefined {
  return byId.get(id)?.name;
}

/** The ID of a named message; a name not in the table is a simulator bug. */
export function rmMessageId(name: RmMessageName): number {
  const m = byName.get(name);
  if (m === undefined) throw new Error(`unknown RM message ${name}`);
  return m.id;
}

/** `VM_START (0x56000004)`, or `rm msg 0x56001234 (unknown)`. */
export function formatRmMessage(id: number): string {
  const hex = `0x${(id >>> 0).toString(16).padStart(8, "0")}`;
  const name = byId.get(id)?.name;
  return name === undefined ? `rm msg ${hex} (unknown)` : `${name} (${hex})`;
}

export type RmMessageName =
  | "VM_ALLOCATE" | "VM_DEALLOCATE" | "VM_START" | "VM_STOP" | "VM_RESET" | "VM_SUSPEND" | "VM_RESUME"
  | "VM_CONFIG_IMAGE" | "VM_AUTH_IMAGE" | "VM_INIT" | "VM_GET_ID" | "VM_LOOKUP_URI" | "VM_LOOKUP_GUID"
  | "VM_LOOKUP_NAME" | "VM_GET_OWNER" | "VM_GET_STATE" | "VM_GET_CRASH_MSG" | "VM_GET_HYP_RESOURCES"
  | "VM_GET_HYP_CAPIDS" | "VM_GET_HYP_IRQS" | "VM_GET_VMID" | "VM_GET_PEERS" | "VM_SET_TIME_BASE"
  | "VM_SET_CONTEXT" | "VM_SET_FIRMWARE_MEM" | "VM_SET_DEMAND_PAGING" | "VM_SET_ADDRESS_LAYOUT"
  | "VM_IRQ_ACCEPT" | "VM_IRQ_LEND" | "VM_IRQ_RELEASE" | "VM_IRQ_RECLAIM" | "VM_IRQ_NOTIFY" | "VM_IRQ_UNMAP"
  | "VM_SET_STATUS" | "VM_CONSOLE_OPEN" | "VM_CONSOLE_CLOSE" | "VM_CONSOLE_WRITE" | "VM_CONSOLE_FLUSH"
  | "VM_EXIT" | "VM_SET_CRASH_MSG" | "VM_HOST_GET_TYPE" | "IPA_RESERVE" | "IPA_UNRESERVE"
  | "NOTIFY_VM_EXITED" | "NOTIFY_VM_SHUTDOWN" | "NOTIFY_VM_STATUS" | "NOTIFY_VM_IRQ_LENT"
  | "NOTIFY_VM_IRQ_RELEASED" | "NOTIFY_VM_IRQ_ACCEPTED" | "NOTIFY_VM_CONSOLE_CHARS"
  | "MEM_DONATE" | "MEM_ACCEPT" | "MEM_LEND" | "MEM_SHARE" | "MEM_RELEASE" | "MEM_RECLAIM" | "MEM_NOTIFY"
  | "MEM_APPEND" | "MEM_QCOM_LOOKUP_SGL" | "FW_MILESTONE" | "FW_SET_VM_FIRMWARE"
  | "MEM_SHARED" | "MEM_RELEASED" | "MEM_ACCEPTED" | "MEM_RECALL";

/** RPC header constants (reference §1.2, §1.3; RM:include/rm-rpc.h). */
export const RM_RPC = {
  API_VERSION: 1,
  HEADER_WORDS: 2,
  HEADER_BYTES: 8,
  /** Byte 0 of every packet: api_version 1 | header_words 2 << 4. */
  HEADER_BYTE0: 0x21,
  MESSAGE_SIZE_BYTES: 240,
  FRAGMENT_PAYLOAD_BYTES: 232,
  MAX_FRAGMENTS: 62,
  /** 232 * 63: the RM's reassembly limit. Linux sends at most 62 * 232 (reference §11.3). */
  MAX_MESSAGE_BYTES: 14_616,
  QUEUE_DEPTH: 8,
  /** Pending notifications kept per client; the oldest is dropped beyond this (RM:src/rpc/rm-rpc-fifo.c). */
  NOTIFICATION_FIFO_MAX: 256,
} as const;

export const RM_MSG_TYPE = { CONTINUATION: 0, REQUEST: 1, REPLY: 2, NOTIFICATION: 3 } as const;
export type RmMsgType = (typeof RM_MSG_TYPE)[keyof typeof RM_MSG_TYPE];

/** RM error codes (RM:include/rm_types.h; reference §1.4). */
export const RM_ERRORS = {
  OK: 0x0,
  NOMEM: 0x1,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  MSG_INVALID: 0x4,
  BUSY: 0x5,
  ARGUMENT_INVALID: 0x6,
  HANDLE_INVALID: 0x7,
  VALIDATE_FAILED: 0x8,
  MAP_FAILED: 0x9,
  MEM_INVALID: 0xa,
  MEM_INUSE: 0xb,
  MEM_RELEASED: 0xc,
  VMID_INVALID: 0xd,
  LOOKUP_FAILED: 0xe,
  IRQ_INVALID: 0xf,
  IRQ_INUSE: 0x10,
  IRQ_RELEASED: 0x11,
  IN_USE: 0x12,
  IRQ_NOT_MAPPED: 0x13,
  VM_STATE: 0x14,
  UNIMPLEMENTED: 0xffffffff,
} as const;
export type RmError = keyof typeof RM_ERRORS;

const errByValue = new Map<number, RmError>((Object.entries(RM_ERRORS) as [RmError, number][]).map(([k, v]) => [v, k]));
export function rmErrorName(value: number): RmError | undefined {
  return errByValue.get(value >>> 0);
}
/** `RM_ERROR_VM_STATE (0x14)`, `OK`. */
export function formatRmError(value: number): string {
  const name = errByValue.get(value >>> 0);
  if (name === "OK") return "OK";
  return `RM_ERROR_${name ?? "?"} (0x${(value >>> 0).toString(16)})`;
}

/** Well-known VMIDs (reference §3.1). */
export const VMID = {
  HYP: 0,
  HLOS: 3,
  SECONDARY_MAX: 63,
  DYNAMIC_FIRST: 0x80,
  /** Exclusive: the pool is 0x80 <= id < 0xBF. */
  DYNAMIC_END: 0xbf,
  RM: 0xff,
  ANY: 0xfffe,
  PEER_DEFAULT: 0xffff,
} as const;

/** vm_status (RM:include/vm_mgnt.h; reference §3.2). 7 is reserved. */
export const VM_STATUS = {
  NONE: 0,
  INIT: 1,
  READY: 2,
  RUNNING: 3,
  PAUSED: 4,
  LOAD: 5,
  AUTH: 6,
  INIT_FAILED: 8,
  EXITED: 9,
  RESETTING: 10,
  RESET: 11,
} as const;
export type VmStatus = keyof typeof VM_STATUS;

export const OS_STATUS = { NONE: 0, EARLY_BOOT: 1, BOOT: 2, INIT: 3, RUN: 4, SHUTDOWN: 5, HALTED: 6, CRASHED: 7 } as const;
export type OsStatus = keyof typeof OS_STATUS;

/**
 * The RM's allowed VM state edges (RM:src/vm_mgnt/vm_mgnt.c vm_mgnt_state_change_valid; reference
 * §3.3). PAUSED is never entered in this release but its edges are listed as the RM lists them.
 */
export const VM_STATE_EDGES: readonly (readonly [VmStatus, VmStatus])[] = [
  ["NONE", "LOAD"],
  ["LOAD", "INIT"], ["LOAD", "AUTH"], ["LOAD", "INIT_FAILED"],
  ["RESET", "INIT"], ["RESET", "AUTH"], ["RESET", "INIT_FAILED"],
  ["AUTH", "INIT"], ["AUTH", "INIT_FAILED"],
  ["INIT", "READY"], ["INIT", "INIT_FAILED"],
  ["READY", "RUNNING"], ["READY", "INIT_FAILED"],
  ["RUNNING", "EXITED"], ["PAUSED", "EXITED"], ["RUNNING", "PAUSED"], ["PAUSED", "RUNNING"],
  ["EXITED", "RESETTING"], ["READY", "RESETTING"], ["INIT_FAILED", "RESETTING"],
  ["RESETTING", "RESET"],
  ["RESET", "NONE"],
];

/** exit_type in NOTIFY_VM_EXITED (reference §3.4). */
export const EXIT_TYPE = {
  VM_EXIT: 0,
  PLATFORM_OFF: 1,
  PLATFORM_RESET: 2,
  PSCI_SYSTEM_RESET2: 3,
  WATCHDOG_BITE: 4,
  SOFTWARE_ERROR: 5,
  ASYNC_HW_ERROR: 6,
  VM_STOP_FORCED: 7,
} as const;
export type ExitType = keyof typeof EXIT_TYPE;

/** exit_code in exit_reason word 0 bits 31:16 (reference §3.4). */
export const EXIT_CODE = { NORMAL: 0, SOFTWARE_ERROR: 1, UNKNOWN_ERROR: 2, BUS_ERROR: 3, DEVICE_ERROR: 4 } as const;
export type ExitCode = keyof typeof EXIT_CODE;
/** exit_flags bit 0: the guest asks to be restarted. */
export const EXIT_FLAG_RESTART = 0x1;

/** VM_STOP flags and the stop_reason Linux sends at teardown (reference §2.1, §7.6). */
export const VM_STOP_FLAG_FORCE = 0x1;

/** Auth types for VM_CONFIG_IMAGE (reference §6.1). */
export const AUTH_TYPE = { NONE: 0, PLATFORM: 1, ANDROID: 2 } as const;

/** Memory-parcel constants (RM:include/memparcel_msg.h; reference §4.1). */
export const MEM_TYPE = { NORMAL: 0, IO: 1 } as const;
export const TRANS_TYPE = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
export type TransType = keyof typeof TRANS_TYPE;
export const MEM_RIGHTS = { X: 0x1, W: 0x2, R: 0x4, RX: 0x5, RW: 0x6, RWX: 0x7 } as const;
export const MEM_ATTR = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const MEM_CREATE_FLAG = { SANITIZE: 0x1, APPEND: 0x2 } as const;
export const MEM_APPEND_FLAG = { DONE: 0x1 } as const;
export const MEM_ACCEPT_FLAG = {
  VALIDATE_SANITIZED: 0x1,
  VALIDATE_ACL_ATTR: 0x2,
  VALIDATE_LABEL: 0x4,
  MAP_OTHER: 0x8,
  MAP_CONTIGUOUS: 0x10,
  SANITIZE: 0x20,
  DONE: 0x80,
} as const;
export const MEM_RELEASE_FLAG = { SANITIZE: 0x1 } as const;
export const MEM_RECLAIM_FLAG = { SANITIZE: 0x1 } as const;
export const MEM_NOTIFY_FLAG = { SHARED: 0x1, RELEASED: 0x2, ACCEPTED: 0x4, RECALL: 0x8 } as const;
export const MEMPARCEL_INVALID_HANDLE = 0xffffffff;
/** Parcels one owner VM may hold (RM:src/memparcel/memparcel.c). */
export const MEMPARCELS_PER_OWNER_MAX = 64;
/** Entries in one SGL/ACL list (MAX_LIST_ENTRIES). */
export const MEM_LIST_ENTRIES_MAX = 512;

/** IRQ lending (RM:include/irq_message.h; reference §2.4, §5). */
export const VIRQ_NOTIFY_FLAG = { LENT: 0x1, RELEASED: 0x2, ACCEPTED: 0x4 } as const;
export const VIRQ_ANY = 0xffffffff;

/** VM_GET_HYP_RESOURCES resource types (reference §6.5). */
export const RESOURCE_TYPE = {
  DOORBELL_SRC: 0,
  DOORBELL: 1,
  MSG_QUEUE_SEND: 2,
  MSG_QUEUE_RECV: 3,
  VIRTUAL_CPU: 4,
  VIRTUAL_PM: 5,
  VIRTIO_MMIO: 6,
  VRTC: 7,
  WATCHDOG: 8,
} as const;
