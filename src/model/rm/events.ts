import type { Envelope } from "../../core/event.ts";
import type { HaltCause } from "./lifecycle.ts";

/**
 * A client VM (the host's Linux driver, or a guest) sends one RM request on its msgqueue pair.
 * The payload is fragmented into 240-byte packets as the real transport does, the RM reassembles
 * and handles it, and its reply goes back the same way. Malformed payloads get RM error codes.
 * `rpcSeq` is the RPC header's 16-bit sequence number (the envelope's `seq` is the event index).
 * Outcome: `RmRequestOutcome`.
 */
export interface RmRequestEvent extends Envelope {
  readonly kind: "rm_request";
  readonly vm: number;
  readonly msgId: number;
  readonly rpcSeq: number;
  readonly payload: Uint8Array;
}

/**
 * The RM sees a guest VM halt: a vCPU's halt VIRQ (PSCI SYSTEM_OFF / SYSTEM_RESET, an unrecoverable
 * vCPU fault, as vcpu_run_check reports it) or the watchdog bite VIRQ. A VM that is not RUNNING
 * cannot halt: that is a trace error. Outcome: `{ exited, notify }`.
 */
export interface RmVmHaltEvent extends Envelope {
  readonly kind: "rm_vm_halt";
  readonly vm: number;
  readonly vcpu: number;
  readonly cause: HaltCause;
}

export interface RmNotificationOut {
  readonly to: number;
  readonly msg: string;
  readonly data: Uint8Array;
}

export interface RmRequestOutcome {
  readonly msg: string;
  readonly err: string;
  /** Reply data after the error word. */
  readonly data: Uint8Array;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly notify: readonly RmNotificationOut[];
  readonly [key: string]: unknown;
}
