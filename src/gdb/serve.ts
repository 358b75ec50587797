import { createServer, type Server, type Socket } from "node:net";
import { listenLoopback } from "../net/loopback.ts";
import { GdbConnection } from "./packet.ts";
import { GdbSession } from "./server.ts";
import type { GdbTarget } from "./target.ts";

/**
 * The gdb server's front ends: one client's byte stream wired to a connection and a session, a
 * TCP listener on 127.0.0.1 only (one client at a time; the next may connect when it leaves),
 * and whatever stream the CLI hands over for `--stdio` (`target remote | hvsim ... --stdio`).
 */

/** Requests a client may send without waiting for replies before it is cut off. */
const PENDING_MAX = 64;

export interface ClientStream {
  write(bytes: Uint8Array): void;
  /** Close the stream once written data is flushed. */
  end(): void;
}

export interface ClientLink {
  /** Bytes from the client. */
  receive(chunk: Uint8Array): void;
  /** The client went away (end of stream, reset). */
  disconnected(): void;
  /** Resolves when the session is over (the client detached, killed, or went away). */
  readonly done: Promise<void>;
}

/** Serves one client over `stream` until it detaches or disconnects. */
export function serveClient(target: GdbTarget, stream: ClientStream, log: (line: string) => void): ClientLink {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let over = false;
  const close = (): void => {
    if (over) return;
    over = true;
    session.end();
    stream.end();
    finished();
  };
  const connection = new GdbConnection((bytes) => {
    if (!over) stream.write(bytes);
  });
  const session = new GdbSession(target, {
    send: (payload) => connection.send(payload),
    noAck: () => connection.enterNoAckMode(),
    close,
    log,
  });
  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  return {
    done,
    receive(chunk) {
      if (over) return;
      for (const incoming of connection.receive(chunk)) {
        if (incoming.kind === "interrupt") {
          session.interrupt();
          continue;
        }
        if (++pending > PENDING_MAX) {
          log(`the client sent ${PENDING_MAX} requests without waiting for replies: disconnecting it`);
          return close();
        }
        chain = chain.then(async () => {
          await session.handle(incoming);
          pending -= 1;
        });
      }
    },
    disconnected() {
      close();
    },
  };
}

export interface Listener {
  readonly port: number;
  /** Stops listening and drops the connected client, if any. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 picks a free port); one client at a time, any number in turn. */
export function listenTcp(target: GdbTarget, port: number, log: (line: string) => void): Promise<Listener> {
  let current: Socket | null = null;
  const server: Server = createServer((socket) => {
    if (current !== null) {
      log(`refused a second client from ${socket.remoteAddress}:${socket.remotePort}: one gdb at a time`);
      socket.destroy();
      return;
    }
    current = socket;
    socket.setNoDelay(true);
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    log(`gdb connected from ${who}: ${target.description}`);
    const link = serveClient(target, { write: (b) => void socket.write(b), end: () => void socket.end() }, log);
    socket.on("data", (chunk: Buffer) => link.receive(chunk));
    socket.on("error", (e) => log(`connection error: ${e.message}`));
    socket.on("close", () => {
      link.disconnected();
      log(`gdb from ${who} left; waiting for the next one`);
      if (current === socket) current = null;
    });
  });
  return listenLoopback(server, port).then((bound) => ({
    port: bound,
    close: () =>
      new Promise<void>((done) => {
        current?.destroy();
        server.close(() => done());
      }),
  }));
}
