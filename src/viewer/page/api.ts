/**
 * The page's view of the server: typed GETs on `/api/*`. The types are the server's own (type-only
 * imports, erased from the bundle), so the page and the API cannot drift apart.
 */
import type { ChangeView, DisplayChange, EventWindow } from "../session.ts";
import type { ScanStatus } from "../scan.ts";
import type { TimelineView } from "../timeline.ts";
import type { TreeNode } from "../tree.ts";
import type { CpuSnapshot } from "../cpu-view.ts";

export type { ChangeView, DisplayChange, EventWindow, ScanStatus, TimelineView, TreeNode, CpuSnapshot };

export interface Summary {
  readonly name: string;
  readonly scenario: string;
  readonly seed: number;
  readonly modelVersion: string;
  readonly generator: string;
  readonly events: number;
  readonly countsByKind: Readonly<Record<string, number>> | null;
  readonly kinds: readonly string[];
  readonly damage: { readonly offset: number; readonly block: number; readonly message: string } | null;
  readonly divergence: { readonly seq: number; readonly kind: string } | null;
  readonly invariants: number;
  readonly cpuViews: number;
  /** VMs the trace has shown so far (tracks learnt by the background scan). */
  readonly vms: readonly number[];
  readonly scan: ScanStatus;
}

export interface InvariantState {
  readonly name: string;
  readonly description: string;
  readonly holds: boolean;
  readonly violation?: { readonly path: string; readonly detail: string; readonly objects?: Record<string, unknown> };
}

export interface InvariantsView {
  readonly at: number;
  readonly invariants: readonly InvariantState[];
  readonly scan: ScanStatus;
}

export interface DiffView {
  readonly a: number;
  readonly b: number;
  readonly changes: readonly DisplayChange[];
  readonly truncated: boolean;
}

export type CpuView = { readonly available: false } | ({ readonly available: true } & CpuSnapshot);

/** A failed request: the server's one-line message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Requests in flight, on the root element as `data-busy` (scripts and tests wait for "0"). */
let inFlight = 0;
const busy = (delta: number): void => {
  inFlight += delta;
  document.documentElement.dataset.busy = String(inFlight);
};

export async function get<T>(route: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  busy(1);
  try {
    const res = await fetch(`/api/${route}${q.size > 0 ? `?${q}` : ""}`, signal === undefined ? {} : { signal });
    const body = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
    return body;
  } finally {
    busy(-1);
  }
}

/** True for the error a superseded request ends with (not worth showing). */
export const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === "AbortError";
