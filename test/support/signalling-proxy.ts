// A lying signalling server for the browser suite: a loopback proxy in front of the real Worker that
// serves the app unchanged and relays each room socket, but can withhold chosen server frames from
// chosen participants (as a malicious Worker or Durable Object would). Pages are opened on the
// proxy's origin, so their WebSocket goes through it; media still flows through the real SFU.
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";

export interface SignallingProxy {
  /** http://127.0.0.1:PORT: open pages here. */
  readonly origin: string;
  /** Drop every server frame of one of `types` on its way to `participantId`, until released. */
  withhold(participantId: string, types: readonly string[]): void;
  release(participantId: string): void;
  /** Frames dropped so far, per participant id. */
  dropped(participantId: string): number;
  stop(): Promise<void>;
}

function frameType(data: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === "object" && parsed !== null && "type" in parsed) {
      return typeof parsed.type === "string" ? parsed.type : undefined;
    }
  } catch {
    // not JSON: relayed as it is
  }
  return undefined;
}

export async function startSignallingProxy(workerOrigin: string): Promise<SignallingProxy> {
  const target = new URL(workerOrigin);
  const withheld = new Map<string, Set<string>>();
  const drops = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 });

  const server: Server = createServer((req, res) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (client) => {
      const url = new URL(req.url ?? "/", workerOrigin);
      url.protocol = target.protocol === "https:" ? "wss:" : "ws:";
      const upstream = new WebSocket(url);
      sockets.add(client);
      sockets.add(upstream);
      let participantId: string | undefined;
      const early: string[] = [];
      client.on("message", (data) => {
        const text = data.toString();
        if (participantId === undefined && frameType(text) === "join") {
          const join = JSON.parse(text) as { participantId?: unknown };
          if (typeof join.participantId === "string") participantId = join.participantId;
        }
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else early.push(text);
      });
      upstream.on("open", () => {
        for (const text of early.splice(0)) upstream.send(text);
      });
      upstream.on("message", (data) => {
        const text = data.toString();
        const type = frameType(text);
        const blocked = participantId ? withheld.get(participantId) : undefined;
        if (participantId && type && blocked?.has(type)) {
          drops.set(participantId, (drops.get(participantId) ?? 0) + 1);
          return;
        }
        if (client.readyState === WebSocket.OPEN) client.send(text);
      });
      const closeBoth = (code?: number) => {
        const safe = code && code >= 3000 && code <= 4999 ? code : 1000;
        if (client.readyState <= WebSocket.OPEN) client.close(safe);
        if (upstream.readyState <= WebSocket.OPEN) upstream.close(safe);
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("close", (code) => closeBoth(code));
      upstream.on("close", (code) => closeBoth(code));
      client.on("error", () => closeBoth());
      upstream.on("error", () => closeBoth());
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    withhold(participantId, types) {
      withheld.set(participantId, new Set(types));
    },
    release(participantId) {
      withheld.delete(participantId);
    },
    dropped: (participantId) => drops.get(participantId) ?? 0,
    async stop() {
      for (const socket of sockets) socket.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
