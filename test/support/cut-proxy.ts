// A loopback HTTP proxy that one browser sends all its traffic through (launchBrowser's `proxy`),
// and that a test can cut like a lost network: cut() stops moving bytes in both directions on every
// connection (nothing is closed, no FIN or RST reaches either end, what the ends write waits as in
// TCP's retransmission queue), and holds every new connection unanswered, as a SYN into a dead
// link would be; restore() lets it all through again. The browser reaches the Worker (page, /v1,
// its WebSocket) and the SFU (livekit's WebSocket, and WebRTC as ICE over TCP, forced by
// disable_non_proxied_udp) only through here, so a cut takes it off both servers at once.
import { connect, type Socket } from "node:net";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export interface CutProxy {
  /** http://127.0.0.1:PORT, for Chromium's --proxy-server. */
  readonly url: string;
  /** Stops every byte, both ways, on every connection; new connections wait. */
  cut(): void;
  /** Lets everything through again. */
  restore(): void;
  /** "host:port" of every tunnel opened so far (CONNECT), e.g. to check WebRTC used it. */
  tunnels(): string[];
  stop(): Promise<void>;
}

/** Only loopback targets: the proxy must never reach beyond this machine. */
function loopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1";
}

export async function startCutProxy(): Promise<CutProxy> {
  let isCut = false;
  const waiting: (() => void)[] = [];
  const pairs = new Set<[Duplex, Duplex]>();
  const opened: string[] = [];
  /** Runs `go` now, or when the link is restored. */
  const whenUp = (go: () => void) => {
    if (isCut) waiting.push(go);
    else go();
  };
  /** Pipes a and b both ways; a cut pauses both and stops their writes by unpiping. */
  const join = (a: Duplex, b: Duplex) => {
    const pair: [Duplex, Duplex] = [a, b];
    pairs.add(pair);
    if (!isCut) {
      a.pipe(b);
      b.pipe(a);
    } else {
      a.pause();
      b.pause();
    }
    const end = () => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    // An end that goes away while the link is cut stays unnoticed until the link is back.
    for (const socket of [a, b]) {
      socket.on("error", () => whenUp(end));
      socket.on("close", () => whenUp(end));
    }
  };

  const server: Server = createServer((req, res) => {
    // A plain request through the proxy names an absolute URL.
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (!loopback(target.hostname)) {
      res.writeHead(403).end();
      return;
    }
    whenUp(() => {
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: `${target.pathname}${target.search}`,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
  });

  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const [host = "", port = ""] = (req.url ?? "").split(/:(?=\d+$)/);
    if (!loopback(host)) {
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    client.on("error", () => client.destroy());
    opened.push(`${host}:${port}`);
    whenUp(() => {
      const upstream: Socket = connect(Number(port), host.replace(/^\[|\]$/g, ""), () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) upstream.write(head);
        join(client, upstream);
      });
      upstream.on("error", () => {
        if (!client.destroyed) client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      isCut = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    restore() {
      isCut = false;
      for (const [a, b] of pairs) {
        a.pipe(b);
        b.pipe(a);
      }
      for (const go of waiting.splice(0)) go();
    },
    tunnels: () => [...opened],
    async stop() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
