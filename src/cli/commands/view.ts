import { spawn } from "node:child_process";
import type { Command } from "commander";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import { openTraceFile } from "../target.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { viewerAssets } from "../../viewer/assets.ts";
import { startViewer, type ViewerServer } from "../../viewer/server.ts";
import { ViewerSession } from "../../viewer/session.ts";

/** Default port: H-V-S-M on a phone keypad. */
export const DEFAULT_VIEW_PORT = 4876;

export interface ViewOptions {
  readonly port: number;
  readonly open: boolean;
  readonly interval?: number;
}

/** Opens the page in the user's browser: $BROWSER if set, else the platform's opener. */
function openBrowser(io: Io, url: string): void {
  const opener = process.env.BROWSER || (process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open");
  const child = spawn(opener, [url], { detached: true, stdio: "ignore" });
  child.on("error", (e) => io.err(`hvsim view: could not open a browser with '${opener}' (${e.message}); open ${url} yourself`));
  child.unref();
}

/** Serves the viewer until `until` settles (the CLI: Ctrl-C or SIGTERM). */
export async function runView(io: Io, file: string, opts: ViewOptions, until: (server: ViewerServer) => Promise<void>): Promise<number> {
  const trace = openTraceFile(io, file);
  const reader = trace.reader;
  try {
    const session = new ViewerSession(reader, opts.interval === undefined ? {} : { interval: opts.interval });
    const { assets, built } = await viewerAssets();
    if (built) io.err("hvsim view: built the page (its sources are newer than dist/viewer)");
    const server = await startViewer(session, assets, { port: opts.port });
    const h = reader.header;
    io.out(`hvsim view: ${file}: ${session.count} events, scenario ${h.scenario.name}, seed ${h.seed}`);
    const damage = session.seeker.store.damage;
    if (damage !== null) io.out(`note: damaged at byte offset ${damage.offset}; the ${session.count} events before it are shown`);
    io.out(`serving ${server.url} (127.0.0.1 only; Ctrl-C to stop)`);
    if (opts.open) openBrowser(io, server.url);
    try {
      await until(server);
    } finally {
      await server.close();
    }
    return EXIT.ok;
  } finally {
    trace.close();
  }
}

const untilSignal = (): Promise<void> =>
  new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });

export function registerView(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("view")
    .description("the time-travel viewer: a trace as a web page on 127.0.0.1 (timeline, scrubber, events, state, invariants)")
    .argument("<file>", "trace file")
    .option("--port <n>", "port on 127.0.0.1 (0 picks a free one)", String(DEFAULT_VIEW_PORT))
    .option("--open", "open the page in a browser ($BROWSER, else the system's opener)")
    .option("--interval <n>", "events between in-memory checkpoints (how far a seek replays at most)")
    .addHelpText(
      "after",
      "\nThe page seeks with the same engine as hvsim debug: scrub with the slider or the arrow keys, click\n" +
        "the timeline or an event, open the state tree, mark two positions (a, b) to diff them, and jump to\n" +
        "the first invariant violation. The address carries the position: http://127.0.0.1:PORT/#event=235\n" +
        "Examples:\n  hvsim view traces/bug-reclaim-without-sanitise-s1.hvt --open\n  hvsim view a.hvt --port 0",
    )
    .action(async (file: string, opts: { port: string; open?: boolean; interval?: string }) => {
      const port = parseIntOption("--port", opts.port, 0);
      if (port > 65535) die("ARGUMENT_INVALID", `--port: expected a port 0..65535, got '${opts.port}'`);
      const code = await runView(
        io,
        file,
        { port, open: opts.open === true, ...(opts.interval === undefined ? {} : { interval: parseIntOption("--interval", opts.interval, 1) }) },
        untilSignal,
      );
      setCode(code);
    });
}
