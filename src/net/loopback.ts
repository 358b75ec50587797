import type { Server as NetServer } from "node:net";
import { HvsimError } from "../core/errors.ts";

/** Everything hvsim serves (the viewer, the gdb stub) listens here and nowhere else. */
export const LOOPBACK = "127.0.0.1";

/**
 * Listens on 127.0.0.1:`port` (0: a free one) and resolves with the port bound. A port in use or
 * needing privileges is the user's to change, so it is one line of bad input, the same for every
 * server; anything else is unexpected and propagates.
 */
export function listenLoopback(server: NetServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const refuse = (e: NodeJS.ErrnoException): void => {
      if (e.code === "EADDRINUSE") reject(new HvsimError("ARGUMENT_INVALID", `port ${port} on ${LOOPBACK} is in use (--port 0 picks a free one)`));
      else if (e.code === "EACCES") reject(new HvsimError("ARGUMENT_INVALID", `port ${port} on ${LOOPBACK} needs privileges (use a port above 1023, or --port 0)`));
      else reject(e);
    };
    server.once("error", refuse);
    server.listen(port, LOOPBACK, () => {
      server.off("error", refuse);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}
