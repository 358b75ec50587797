import { listenTcp, serveClient } from "../gdb/serve.ts";
import type { GdbTarget } from "../gdb/target.ts";
import { EXIT } from "./exit.ts";
import type { Io } from "./io.ts";

/** How `hvsim cpu gdb` and `hvsim gdb` serve their target: stdio for `target remote | ...`, or TCP on 127.0.0.1. */

/** One session on stdin/stdout (nothing else may write to stdout: it carries the protocol). */
export async function serveStdio(target: GdbTarget, log: (line: string) => void): Promise<number> {
  const link = serveClient(target, { write: (b) => void process.stdout.write(b), end: () => {} }, log);
  process.stdin.on("data", (chunk: Buffer) => link.receive(chunk));
  process.stdin.on("end", () => link.disconnected());
  process.stdin.on("error", () => link.disconnected());
  await link.done;
  process.stdin.destroy();
  return EXIT.ok;
}

/** Listens until interrupted (SIGINT, SIGTERM); clients come and go. `connect` is the gdb command line to show. */
export async function serveTcp(target: GdbTarget, port: number, what: string, connect: (port: number) => string, io: Io, log: (line: string) => void): Promise<number> {
  const listener = await listenTcp(target, port, log);
  io.out(`hvsim: gdb server for ${what} listening on 127.0.0.1:${listener.port}`);
  io.out(`connect with: ${connect(listener.port)}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await listener.close();
  return EXIT.ok;
}
