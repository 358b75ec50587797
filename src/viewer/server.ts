import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { LOOPBACK, listenLoopback } from "../net/loopback.ts";
import { answer } from "./api.ts";
import type { Assets, AssetName } from "./assets.ts";
import type { ViewerSession } from "./session.ts";

/** The only address the viewer listens on: a trace can hold a protected VM's secrets. */
export { LOOPBACK };
/** Background scan work per turn of the event loop: short, so requests wait at most this long. */
const SCAN_SLICE_MS = 20;

export interface ViewerServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
} as const;

const STATIC: Readonly<Record<string, { name: AssetName; type: string }>> = {
  "/": { name: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { name: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { name: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { name: "app.css", type: "text/css; charset=utf-8" },
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...extra, "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(head ? undefined : body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown, head: boolean, extra: Record<string, string> = {}): void =>
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), head, extra);

/**
 * Serves the page and `/api/*` for one trace, on 127.0.0.1 only. The page's files come from memory
 * (a fixed table: no request names a file), requests must name this server as their Host (a page
 * elsewhere cannot reach it through DNS rebinding), and only GET and HEAD are answered. Between
 * requests the session's background scan runs in short slices.
 */
export async function startViewer(
  session: ViewerSession,
  assets: Assets,
  options: { port: number; onBug?: (e: unknown) => void },
): Promise<ViewerServer> {
  const onBug = options.onBug ?? ((e: unknown) => console.error(`hvsim view: internal error: ${(e as Error)?.stack ?? e}`));
  let allowedHosts = new Set<string>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("Allow", "GET, HEAD");
      return sendJson(res, 405, { error: `method ${req.method} is not allowed: the viewer only reads` }, false);
    }
    if (!allowedHosts.has(req.headers.host ?? "")) return sendJson(res, 403, { error: `this server answers only to ${[...allowedHosts][0]}` }, head);
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${LOOPBACK}`);
    } catch {
      return sendJson(res, 400, { error: "malformed request URL" }, head);
    }
    if (url.pathname.startsWith("/api/")) {
      const t0 = performance.now();
      const reply = answer(session, url.pathname.slice("/api/".length), url.searchParams, onBug);
      // How long the answer took to compute (browsers' devtools show it; the benchmark reads it).
      return sendJson(res, reply.status, reply.body, head, { "Server-Timing": `answer;dur=${(performance.now() - t0).toFixed(1)}` });
    }
    const asset = Object.hasOwn(STATIC, url.pathname) ? STATIC[url.pathname] : undefined;
    if (asset === undefined) return sendJson(res, 404, { error: `no such page: ${url.pathname.slice(0, 80)}` }, head);
    send(res, 200, asset.type, assets[asset.name], head);
  };
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      onBug(e);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error in hvsim" }, false);
    }
  });
  const port = await listenLoopback(server, options.port);
  allowedHosts = new Set([`${LOOPBACK}:${port}`, `localhost:${port}`]);
  let closed = false;
  const pump = (): void => {
    if (closed) return;
    let more = false;
    try {
      more = session.scan.step(SCAN_SLICE_MS);
    } catch (e) {
      onBug(e);
    }
    if (more) setImmediate(pump);
  };
  setImmediate(pump);
  return {
    url: `http://${LOOPBACK}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

