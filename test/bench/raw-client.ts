// A bare docs/protocol.md client for the relay-throughput bench: it joins with a placeholder
// announcement (the Worker treats announcements as opaque bytes) and counts payloads, so the figure
// measures the room's relay alone, without the client core's crypto in the way.
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import {
  type ClientMessage,
  HEARTBEAT,
  PROTOCOL_VERSION,
  ServerMessage,
} from "../../protocol/signalling";

/**
 * As often as the real client pings: a bare client that only listens (the relay probe's receivers)
 * would otherwise be dropped for silence (4441) by the room's heartbeat timeout during a long run.
 */
const HEARTBEAT_INTERVAL_MS = 15_000;

export interface RawClient {
  participantId: string;
  send(message: ClientMessage): void;
  /** Bytes queued in the socket but not yet written. */
  buffered(): number;
  close(): void;
}

export function randomId(): string {
  return randomBytes(16).toString("base64url");
}

/** Opens a socket, joins and resolves on `welcome`; `onMessage` sees every later server message. */
export function joinRaw(
  url: string,
  onMessage: (message: ServerMessage) => void,
  timeoutMs = 10_000,
): Promise<RawClient> {
  const participantId = randomId();
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    const heartbeat = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(HEARTBEAT.ping);
    }, HEARTBEAT_INTERVAL_MS);
    socket.on("close", () => clearInterval(heartbeat));
    const timer = setTimeout(() => {
      clearInterval(heartbeat);
      socket.terminate();
      reject(new Error(`join timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const client: RawClient = {
      participantId,
      send: (message) => socket.send(JSON.stringify(message satisfies ClientMessage)),
      buffered: () => socket.bufferedAmount,
      close: () => {
        clearInterval(heartbeat);
        socket.close();
      },
    };
    socket.on("open", () =>
      client.send({
        type: "join",
        v: PROTOCOL_VERSION,
        participantId,
        announcement: randomBytes(96).toString("base64url"),
      }),
    );
    socket.on("error", (error) => {
      clearTimeout(timer);
      clearInterval(heartbeat);
      reject(error);
    });
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const parsed = ServerMessage.safeParse(safeJson(data.toString()));
      if (!parsed.success) return;
      if (parsed.data.type === "welcome") {
        clearTimeout(timer);
        resolve(client);
      } else if (parsed.data.type === "error" && parsed.data.code !== "unknown_recipient") {
        console.error(`bench: relay client got ${parsed.data.code}: ${parsed.data.message}`);
      }
      onMessage(parsed.data);
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
