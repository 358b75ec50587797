import { useEffect, useRef, useState } from "preact/hooks";
import { get, isAbort } from "./api.ts";

/** `value`, once it has stopped changing for `ms` (scrubbing fires many positions; fetch the last). */
export function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export interface Fetched<T> {
  /** The last answer that arrived (kept while a newer request is in flight, so views do not flicker). */
  readonly data: T | null;
  readonly error: string | null;
  readonly loading: boolean;
}

/**
 * GETs `route` whenever its parameters (or `refresh`) change; a superseded request is aborted and
 * its answer never shown. `route === null` fetches nothing.
 */
export function useApi<T>(route: string | null, params: Record<string, string | number | undefined>, refresh = 0): Fetched<T> {
  const [state, setState] = useState<Fetched<T>>({ data: null, error: null, loading: route !== null });
  const key = route === null ? "" : `${route}?${JSON.stringify(params)}#${refresh}`;
  const live = useRef(key);
  useEffect(() => {
    live.current = key;
    if (route === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    get<T>(route, params, ctl.signal).then(
      (data) => live.current === key && setState({ data, error: null, loading: false }),
      (e: unknown) => !isAbort(e) && live.current === key && setState((s) => ({ data: s.data, error: (e as Error).message, loading: false })),
    );
    return () => ctl.abort();
  }, [key]);
  return state;
}

/** `#event=N&a=M&b=K`: the position and marks, so a colleague opens the same place. */
export interface HashState {
  readonly event?: number;
  readonly a?: number;
  readonly b?: number;
}

export function readHash(): HashState {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  const int = (k: string): number | undefined => {
    const v = p.get(k);
    return v !== null && /^-?\d+$/.test(v) ? Number(v) : undefined;
  };
  const out: { event?: number; a?: number; b?: number } = {};
  for (const k of ["event", "a", "b"] as const) {
    const v = int(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function writeHash(h: HashState): void {
  const parts = [`event=${h.event ?? -1}`];
  if (h.a !== undefined) parts.push(`a=${h.a}`);
  if (h.b !== undefined) parts.push(`b=${h.b}`);
  const next = `#${parts.join("&")}`;
  if (location.hash !== next) history.replaceState(null, "", next);
}

/** Typing in a field must not scrub or zoom. */
export const typing = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.isContentEditable || (t instanceof HTMLInputElement && t.type !== "range") || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement);
