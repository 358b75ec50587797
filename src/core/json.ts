/**
 * Plain data to JSON for people and scripts: bigints become "0x…" strings (registers read as hex),
 * byte arrays become hex strings. Everything else is JSON already.
 */
export function toJsonValue(v: unknown): unknown {
  if (typeof v === "bigint") return `0x${v.toString(16)}`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

export const toJson = (v: unknown, indent?: number): string => JSON.stringify(toJsonValue(v), null, indent);

/**
 * Follows a dotted path (`a.b.3.c`, also `a[3].c`) into plain data. Returns `{ found: false, at }`
 * naming the first segment that does not exist.
 */
export function atPath(root: unknown, path: string): { found: true; value: unknown } | { found: false; at: string } {
  const segments = path.replace(/\[(\w+)\]/g, ".$1").split(".").filter((s) => s !== "");
  let cur: unknown = root;
  const walked: string[] = [];
  for (const seg of segments) {
    walked.push(seg);
    if (typeof cur !== "object" || cur === null || !Object.hasOwn(cur, seg)) return { found: false, at: walked.join(".") };
    cur = (cur as Record<string, unknown>)[seg];
  }
  return { found: true, value: cur };
}
