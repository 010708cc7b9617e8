// A loopback TCP proxy that stands for the load balancer in front of a multi-node LiveKit: clients
// are given its one URL, and each connection it accepts is piped to the node it points at right
// then. Only livekit's signalling (its WebSocket and HTTP checks) goes through it; WebRTC goes to
// the ICE candidates of the node hosting the room, as it does behind a real load balancer. point()
// moves new connections to another node; a connection whose node goes away is closed on the
// client's side too, as a load balancer does when its backend connection ends.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface SwitchProxy {
  /** ws://127.0.0.1:PORT, the URL clients connect to. */
  readonly url: string;
  /** Sends new connections to 127.0.0.1:port from now on. */
  point(port: number): void;
  /** The port new connections go to. */
  target(): number;
  /** How many connections went to each port so far. */
  accepted(): Record<number, number>;
  stop(): Promise<void>;
}

export async function startSwitchProxy(initialPort: number): Promise<SwitchProxy> {
  let port = initialPort;
  const counts: Record<number, number> = {};
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const to = port;
    counts[to] = (counts[to] ?? 0) + 1;
    const upstream = connect(to, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: listening } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${listening}`,
    point(next) {
      port = next;
    },
    target: () => port,
    accepted: () => ({ ...counts }),
    async stop() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
