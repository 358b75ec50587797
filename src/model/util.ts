/** For values the model itself guarantees (genesis, internal tables): a miss is a simulator bug. */
export function must<T>(v: T | null | undefined | { ok: true; value: T } | { ok: false; error: unknown }, what: string): T {
  if (v === null || v === undefined) throw new Error(`internal: ${what}`);
  if (typeof v === "object" && "ok" in (v as object)) {
    const r = v as { ok: boolean; value?: T };
    if (!r.ok) throw new Error(`internal: ${what}`);
    return r.value as T;
  }
  return v as T;
}
