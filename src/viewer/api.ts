import { isHvsimError } from "../core/errors.ts";
import { TIMELINE_WIDTH_MAX } from "./limits.ts";
import { toJsonValue } from "../core/json.ts";
import { EVENT_KINDS } from "../model/events.ts";
import { Query } from "./query.ts";
import type { ViewerSession } from "./session.ts";

/** One API reply: an HTTP status and a JSON body (`{ error }` when the status is not 200). */
export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

const VMID_MAX = 0xffff;
const VCPU_MAX = 1023;
const ROWS_MAX = 1000;
const CHILDREN_MAX = 5000;
const DIFF_MAX = 5000;

type Handler = (s: ViewerSession, q: Query) => unknown;

/** An event index of this trace (-1: genesis). */
const at = (s: ViewerSession, q: Query, name = "at"): number => q.int(name, -1, Math.max(-1, s.count - 1));

/**
 * The API: every route reads its parameters strictly (unknown or repeated ones are refused) and
 * answers with data about the one trace the server was started on. No route takes a file path;
 * `node` is a state path inside the machine state.
 */
const ROUTES: Readonly<Record<string, Handler>> = {
  summary: (s, q) => (q.done(), s.summary()),
  status: (s, q) => (q.done(), s.scanStatus()),
  events(s, q) {
    const n = at(s, q);
    const before = q.optionalInt("before", 0, ROWS_MAX) ?? 100;
    const after = q.optionalInt("after", 0, ROWS_MAX) ?? 100;
    const kind = q.optionalChoice("kind", EVENT_KINDS);
    const vm = q.optionalInt("vm", 0, VMID_MAX);
    q.done();
    return s.events(n, before, after, { ...(kind === undefined ? {} : { kind }), ...(vm === undefined ? {} : { vm }) });
  },
  state(s, q) {
    const n = at(s, q);
    const node = q.optionalString("node") ?? "";
    const offset = q.optionalInt("offset", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = q.optionalInt("limit", 1, CHILDREN_MAX) ?? 200;
    q.done();
    return s.node(n, node, offset, limit);
  },
  change(s, q) {
    const n = at(s, q);
    q.done();
    return s.change(n);
  },
  diff(s, q) {
    const a = at(s, q, "a");
    const b = at(s, q, "b");
    const limit = q.optionalInt("limit", 1, DIFF_MAX) ?? 500;
    q.done();
    return s.diff(a, b, limit);
  },
  invariants(s, q) {
    const n = at(s, q);
    q.done();
    return s.invariantsAt(n);
  },
  timeline(s, q) {
    const from = q.int("from", 0, Math.max(0, s.count - 1));
    const to = q.int("to", 0, Math.max(0, s.count - 1));
    const width = q.int("width", 16, TIMELINE_WIDTH_MAX);
    q.done();
    return s.timeline(from, to, width);
  },
  cpu(s, q) {
    const n = at(s, q);
    const vm = q.int("vm", 0, VMID_MAX);
    const vcpu = q.int("vcpu", 0, VCPU_MAX);
    q.done();
    return s.cpu(n, vm, vcpu);
  },
};

export const API_ROUTES: readonly string[] = Object.keys(ROUTES);

/**
 * Answers `/api/<route>?<params>`. Bad requests are 400 with one sentence; an event this build
 * cannot apply (or a part of the trace that is damaged) is 422, since the request was fine; a
 * failure of hvsim itself is 500 and is reported by the caller (`onBug`).
 */
export function answer(session: ViewerSession, route: string, params: URLSearchParams, onBug: (e: unknown) => void): ApiReply {
  const handler = Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined;
  if (handler === undefined) return { status: 404, body: { error: `no API route '${route}' (routes: ${API_ROUTES.join(", ")})` } };
  try {
    return { status: 200, body: toJsonValue(handler(session, new Query(params))) };
  } catch (e) {
    if (isHvsimError(e)) return { status: e.code === "ARGUMENT_INVALID" ? 400 : e.code === "INTERNAL" ? 500 : 422, body: { error: e.message } };
    onBug(e);
    return { status: 500, body: { error: "internal error in hvsim (a bug: the server's output has the details)" } };
  }
}
