// Checks before starting anything that the fixed local ports are free, so a second `npm start` (or a
// forgotten server) gives a clear message naming the port instead of a half-started system.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

export interface PortNeed {
  /** What will listen there, for the message. */
  what: string;
  port: number;
  protocol: "tcp" | "udp";
  /** Address the part binds; undefined = all interfaces. */
  host?: string;
}

/** Resolves with one message per port that cannot be bound right now. */
export async function busyPorts(needs: PortNeed[]): Promise<string[]> {
  const messages: string[] = [];
  for (const need of needs) {
    const error = await tryBind(need);
    if (error) {
      const where = `${need.host ?? "*"}:${need.port}/${need.protocol}`;
      const hint =
        error === "EADDRINUSE"
          ? "is already in use (another `npm start` or server?)"
          : `(${error})`;
      messages.push(`port ${where} for ${need.what} ${hint}`);
    }
  }
  return messages;
}

/** Binds and releases the port; resolves with the error code, or undefined when it was free. */
function tryBind(need: PortNeed): Promise<string | undefined> {
  return new Promise((resolve) => {
    const fail = (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message);
    if (need.protocol === "udp") {
      const socket = createSocket("udp4");
      socket.once("error", (error) => {
        socket.close();
        fail(error);
      });
      socket.bind(need.port, need.host, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once("error", fail);
    server.listen({ port: need.port, host: need.host, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}
