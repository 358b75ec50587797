/**
 * Gunyah's error enumeration: one table, names as Gunyah spells them (without the ERROR_ prefix,
 * as in hvsim's outcome data) and their values as returned in X0.
 * Source: GH:hyp/core/base/types.tc and the module extensions listed in
 * shared/reference/gunyah-hypervisor.md §3 (quic/gunyah-hypervisor @36ca3a2).
 */
export const HV_ERRORS = {
  OK: 0,
  UNIMPLEMENTED: -1,
  RETRY: -2,
  ARGUMENT_INVALID: 1,
  ARGUMENT_SIZE: 2,
  ARGUMENT_ALIGNMENT: 3,
  NOMEM: 10,
  NORESOURCES: 11,
  ADDR_OVERFLOW: 20,
  ADDR_UNDERFLOW: 21,
  ADDR_INVALID: 22,
  DENIED: 30,
  BUSY: 31,
  IDLE: 32,
  OBJECT_STATE: 33,
  OBJECT_CONFIG: 34,
  OBJECT_CONFIGURED: 35,
  FAILURE: 36,
  VIRQ_BOUND: 40,
  VIRQ_NOT_BOUND: 41,
  CSPACE_CAP_NULL: 50,
  CSPACE_CAP_REVOKED: 51,
  CSPACE_WRONG_OBJECT_TYPE: 52,
  CSPACE_INSUFFICIENT_RIGHTS: 53,
  CSPACE_FULL: 54,
  MSGQUEUE_EMPTY: 60,
  MSGQUEUE_FULL: 61,
  STRING_TRUNCATED: 90,
  STRING_REACHED_END: 91,
  STRING_INVALID_FORMAT: 92,
  STRING_MISSING_PLACEHOLDER: 93,
  STRING_MISSING_ARGUMENT: 94,
  ALLOCATOR_RANGE_OVERLAPPING: 100,
  ALLOCATOR_MEM_INUSE: 101,
  MEMDB_EMPTY: 110,
  MEMDB_NOT_OWNER: 111,
  MEMEXTENT_MAPPINGS_FULL: 120,
  MEMEXTENT_TYPE: 121,
  EXISTING_MAPPING: 200,
} as const;

/** A guest-visible hypervisor error, by Gunyah's name. */
export type HvError = keyof typeof HV_ERRORS;

const byValue = new Map<number, HvError>(
  (Object.entries(HV_ERRORS) as [HvError, number][]).map(([name, value]) => [value, name]),
);

/** The error's name for a raw X0 value (signed), or undefined if Gunyah has no such code. */
export function hvErrorName(value: number | bigint): HvError | undefined {
  const n = typeof value === "bigint" ? Number(BigInt.asIntN(64, value)) : value;
  return byValue.get(n);
}

/** X0 as the guest sees it: the signed code as a 64-bit register value. */
export function hvErrorRegister(name: HvError): bigint {
  return BigInt.asUintN(64, BigInt(HV_ERRORS[name]));
}

/** How Gunyah prints it: `ERROR_DENIED (30)`, `OK (0)`. */
export function formatHvError(value: number | bigint): string {
  const n = typeof value === "bigint" ? Number(BigInt.asIntN(64, value)) : value;
  const name = byValue.get(n);
  if (name === undefined) return `error ${n}`;
  return name === "OK" ? "OK (0)" : `ERROR_${name} (${n})`;
}
