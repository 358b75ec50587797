import type { Machine } from "../machine.ts";
import type { HvError } from "../abi/errors.ts";
import type { HypercallName } from "../abi/hypercalls.ts";

/**
 * Who made the call: the VM (VMID) and vCPU index from the event, the thread object they resolve
 * to, and that thread's cspace (every cap argument is looked up there, reference §4.3).
 */
export interface Caller {
  readonly vm: number;
  readonly vcpu: number;
  readonly seq: number;
  readonly t: number;
  readonly thread: number;
  readonly cspace: number;
  /** Guest-buffer bytes the event carries (msgqueue_send payload, prng entropy), if any. */
  readonly data?: Uint8Array;
}

/** What a hypercall handler returns: Gunyah's error code and the result registers X1.. in order. */
export interface HvReturn {
  readonly error: HvError;
  readonly out?: readonly bigint[];
  /** Extra, model-level facts for the outcome (e.g. the bytes a msgqueue_receive copied out). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * One decoded hypercall: a pure function of the draft state, the caller and X0..X7.
 * It must never throw on guest-controlled input: every bad argument is an error code.
 */
export type HypercallHandler = (s: Machine, caller: Caller, args: readonly bigint[]) => HvReturn;

export type HypercallTable = { readonly [N in HypercallName]?: HypercallHandler };

export const fail = (error: HvError): HvReturn => ({ error });
export const okWith = (...out: bigint[]): HvReturn => ({ error: "OK", out });
export const OK: HvReturn = { error: "OK" };

/** Argument register i, or 0 if the guest left fewer (Gunyah zero-fills unused inputs in its stubs). */
export const arg = (args: readonly bigint[], i: number): bigint => BigInt.asUintN(64, args[i] ?? 0n);
/** A 32-bit argument: Gunyah converts narrow arguments to their C type, ignoring upper bits. */
export const arg32 = (args: readonly bigint[], i: number): number => Number(BigInt.asUintN(32, arg(args, i)));
/** A 16-bit argument (cpu_index_t, vmid_t). */
export const arg16 = (args: readonly bigint[], i: number): number => Number(BigInt.asUintN(16, arg(args, i)));
/**
 * An address or size argument as a number. Values at or above 2^53 cannot be a valid address on a
 * 36/40-bit platform; they map to -1 so that range checks reject them (never a silent wrap).
 */
export const argAddr = (args: readonly bigint[], i: number): number => {
  const v = arg(args, i);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
};
