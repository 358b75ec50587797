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
 * The RM sees a guest VM halt with no guest instruction behind it in the trace: the watchdog bite
 * VIRQ, or an unrecoverable vCPU fault (its halt VIRQ). PSCI SYSTEM_OFF / SYSTEM_RESET are the
 * guest's own `smccc_call`, and the RM's exit then comes with the host's VCPU_RUN
 * (rm/handlers.ts rmVcpuHalted); the PSCI causes stay accepted here for older traces only (the
 * simulator no longer generates them). A VM that is not RUNNING cannot halt: that is a trace
 * error. Outcome: `{ exited, notify }`.
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

/**
 * The RM's vCPU takes the receive VIRQ of VM `vm`'s channel (a real guest's kernel sent its
 * request fragments itself, `msgqueue_send` HVCs in `vcpu_exec`, PUSH on the last): it
 * acknowledges the VIRQ, drains the client->RM queue with `msgqueue_receive`, reassembles, EOIs,
 * handles every request completed, and sends its notifications and replies on the RM->client
 * queue, where they wait (the client's VIRQ pending) for the guest's own `msgqueue_receive`.
 * A partial message stays reassembling. The queue must hold a packet (else nothing raised the
 * VIRQ: a trace error). Outcome: `RmServiceOutcome`.
 */
export interface RmServiceEvent extends Envelope {
  readonly kind: "rm_service";
  readonly vm: number;
}

export interface RmServiceOutcome {
  readonly packetsIn: number;
  /** The requests completed by these packets, in order, with what the RM did about each. */
  readonly handled: readonly { readonly msg: string; readonly rpcSeq: number; readonly err: string; readonly data: Uint8Array; readonly packetsOut: number; readonly notify: readonly RmNotificationOut[] }[];
  /** A message is still being reassembled (more fragments to come). */
  readonly partial: boolean;
  readonly [key: string]: unknown;
}
