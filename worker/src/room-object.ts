// The Room Durable Object: a thin shell around the pure rules in room.ts. It accepts hibernatable
// WebSockets, rebuilds the room from the sockets' attachments and one stored counter for every event,
// applies the outcome (attachment, counter, sends, close) and deletes all storage when the room
// empties. Nothing needed between two events lives only in memory, so eviction changes nothing.
import { DurableObject } from "cloudflare:workers";
import { assertNever } from "./assert-never";
import { type Env, type RoomConfig, readLiveKitConfig, readRoomConfig } from "./config";
import { mintLiveKitGrant } from "./livekit-token";
import { ID_PATTERN, type LiveKitGrant, type Member, type ServerMessage } from "./protocol";
import {
  type Delivery,
  FIRST_SEQ,
  newSocket,
  type Outcome,
  onDisconnect,
  onFrame,
  type RoomView,
} from "./room";
import { readSocketState, type SocketState } from "./socket-state";

/** The Worker passes the (already validated) room id to its object in this header. */
export const ROOM_ID_HEADER = "x-hush-room-id";

const NEXT_SEQ_KEY = "nextSeq";

/** How often a room with stored state checks that it still has members (see alarm()). */
const SWEEP_INTERVAL_MS = 15 * 60 * 1000;

/** RFC 6455 section 7.4.1: the server hit a condition it cannot recover from. */
const INTERNAL_ERROR_CLOSE = 1011;

export class Room extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const roomId = request.headers.get(ROOM_ID_HEADER);
    if (
      roomId === null ||
      !ID_PATTERN.test(roomId) ||
      request.headers.get("Upgrade") !== "websocket"
    )
      return new Response("the Room only accepts WebSocket upgrades from the Worker", {
        status: 400,
      });
    const config = readRoomConfig(this.env);
    if (!config.ok) return new Response(config.error, { status: 500 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(newSocket(roomId, config.value, Date.now()));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    await this.serially(ws, (room, socket, config) =>
      onFrame(room, socket, data, config, Date.now()),
    );
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.serially(ws, (room, socket) => onDisconnect(room, socket));
    // Complete the closing handshake; the socket may already be fully closed.
    closeQuietly(ws, 1000, "closed");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.serially(ws, (room, socket) => onDisconnect(room, socket));
  }

  /**
   * A runtime restart (a deploy, a crash) drops every socket without a close event, which would
   * leave an empty room's counter behind forever. While the room has stored state, an alarm checks
   * now and then that somebody is still in it, and forgets the room otherwise.
   */
  override async alarm(): Promise<void> {
    await this.enqueue(async () => {
      if (this.load().view.members.length === 0) await this.forget();
      else await this.ctx.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
    });
  }

  /**
   * Runs events one at a time, in the order the runtime delivered them, even across the await of
   * token minting: every member then sees joins, leaves and payloads in one order, and a client's
   * frames are handled in the order it sent them. Only this queue of in-flight work lives in
   * memory, and the runtime does not evict an object while work is in flight.
   */
  private queue: Promise<void> = Promise.resolve();

  private enqueue(task: () => Promise<void>, onError?: () => void): Promise<void> {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      // The error's name only: messages could quote client input.
      console.error(`room: internal error (${err instanceof Error ? err.name : typeof err})`);
      onError?.();
    });
    return this.queue;
  }

  private serially(
    ws: WebSocket,
    decide: (room: RoomView, socket: SocketState, config: RoomConfig) => Outcome,
  ): Promise<void> {
    return this.enqueue(
      () => this.handle(ws, decide),
      () => closeQuietly(ws, INTERNAL_ERROR_CLOSE, "internal error"),
    );
  }

  private async handle(
    ws: WebSocket,
    decide: (room: RoomView, socket: SocketState, config: RoomConfig) => Outcome,
  ): Promise<void> {
    const socket = readSocketState(ws.deserializeAttachment());
    if (socket === null) {
      closeQuietly(ws, INTERNAL_ERROR_CLOSE, "session state lost; reconnect");
      return;
    }
    const config = readRoomConfig(this.env);
    if (!config.ok) throw new Error(config.error);
    const { view, sockets } = this.load();
    let outcome = decide(view, socket, config.value);

    let grant: LiveKitGrant | null = null;
    if (outcome.deliveries.some((d) => d.kind !== "message")) {
      grant = await this.mint(outcome.socket);
      if (grant === null) {
        // Refuse without admitting: the member could not reach the SFU anyway.
        outcome = {
          ...onDisconnect(view, socket),
          close: { code: INTERNAL_ERROR_CLOSE, reason: "server cannot mint LiveKit tokens" },
        };
      }
    }
    if (outcome.nextSeq !== view.nextSeq && !outcome.forget) {
      this.ctx.storage.kv.put(NEXT_SEQ_KEY, outcome.nextSeq);
      if ((await this.ctx.storage.getAlarm()) === null)
        await this.ctx.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
    }
    this.apply(ws, outcome, sockets, grant);
    if (outcome.forget) await this.forget();
  }

  /** PROTOCOL.md: when the last member leaves, the room forgets everything it knew. */
  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Rebuilds the room: members from the sockets' attachments, the next seq from storage. */
  private load(): { view: RoomView; sockets: Map<string, WebSocket> } {
    const sockets = new Map<string, WebSocket>();
    const members: Member[] = [];
    for (const other of this.ctx.getWebSockets()) {
      const state = readSocketState(other.deserializeAttachment());
      if (state?.phase !== "joined" || sockets.has(state.participantId)) continue;
      sockets.set(state.participantId, other);
      members.push({
        participantId: state.participantId,
        seq: state.seq,
        announcement: state.announcement,
      });
    }
    const stored = this.ctx.storage.kv.get(NEXT_SEQ_KEY);
    const nextSeq =
      typeof stored === "number" && Number.isSafeInteger(stored) && stored >= FIRST_SEQ
        ? stored
        : FIRST_SEQ;
    return { view: { members, nextSeq }, sockets };
  }

  private async mint(socket: SocketState): Promise<LiveKitGrant | null> {
    if (socket.phase !== "joined") return null;
    const livekit = readLiveKitConfig(this.env);
    if (!livekit.ok) {
      console.error(`room: ${livekit.error}`);
      return null;
    }
    return mintLiveKitGrant(livekit.value, socket.roomId, socket.participantId);
  }

  private apply(
    ws: WebSocket,
    outcome: Outcome,
    sockets: Map<string, WebSocket>,
    grant: LiveKitGrant | null,
  ): void {
    ws.serializeAttachment(outcome.socket);
    for (const delivery of outcome.deliveries) {
      const message = render(delivery, grant);
      if (message === null) continue;
      const target =
        delivery.kind === "message" && delivery.to !== "self"
          ? sockets.get(delivery.to.participantId)
          : ws;
      if (target !== undefined) sendQuietly(target, message);
    }
    if (outcome.close !== null) closeQuietly(ws, outcome.close.code, outcome.close.reason);
  }
}

function render(delivery: Delivery, grant: LiveKitGrant | null): ServerMessage | null {
  switch (delivery.kind) {
    case "message":
      return delivery.message;
    case "welcome":
      return (
        grant && {
          type: "welcome",
          v: 1,
          self: delivery.self,
          members: delivery.members,
          livekit: grant,
        }
      );
    case "token":
      return grant && { type: "token", livekit: grant };
    default:
      return assertNever(delivery);
  }
}

/** A peer may vanish at any moment; its own close event does the bookkeeping. */
function sendQuietly(ws: WebSocket, message: ServerMessage): void {
  try {
    ws.send(JSON.stringify(message));
  } catch {
    // Already closing: nothing to deliver to.
  }
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}
