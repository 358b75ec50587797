/**
 * A shallow copy of a plain object, leaving out up to two keys: what `{ ...o }` and
 * `const { k, ...rest } = o` give (same keys, same order), for code that runs once per event.
 * In Node 20 a spread of objects of many shapes (events, proposals) takes the generic clone path,
 * about 1 µs per copy; copying the fields in a `for..in` loop is about 20x faster (measured on
 * event-shaped objects, tools/bench notes in docs/architecture.md, Performance).
 */
export function shallowCopy(o: object, omit?: string, omit2?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const from = o as Record<string, unknown>;
  for (const k in from) if (k !== omit && k !== omit2) out[k] = from[k];
  return out;
}
