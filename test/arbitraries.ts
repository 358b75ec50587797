import fc from "fast-check";

/**
 * Plain data of the kind the state holds (the serializable contract): numbers, bigints, strings,
 * booleans, null, byte arrays, arrays and records, with numeric-looking keys mixed in because the
 * state's collections are keyed by ids. For property tests of the hash, equality and copying.
 */
export const plainData = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.bigInt(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 6 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.nat({ max: 99 }).map(String)), tie("value"), { maxKeys: 5 }),
  ),
})).value;
