// The Room Durable Object: a thin shell around the pure rules in room.ts. It accepts hibernatable
// WebSockets, keeps the roster (roster.ts) in memory and rebuilds it from the sockets' attachments
// and one stored counter after an eviction, applies each outcome (attachment, counter, sends, close),
// and deletes all storage when the room empties. The runtime answers heartbeat pings itself; one
// alarm enforces the join deadline and the heartbeat timeout (liveness.ts).
import { DurableObject } from "cloudflare:workers";
import { assertNever } from "../../protocol/guards";
import { type Env, readLiveKitConfig } from "./config";
import { type RoomConfig, readRoomConfig } from "./room-config";
import { mintLiveKitGrant } from "./livekit-token";
import { dueAt, overdue } from "./liveness";
import {
  CANONICAL_ID_PATTERN,
  CLOSE_CODES,
  HEARTBEAT,
  type LiveKitGrant,
  type ServerMessage,
} from "../../protocol/signalling";
import { type Allowance, chargeDelivery, fullAllowance } from "./recipient-budget";
import {
  type Delivery,
  FIRST_SEQ,
  type KickReason,
  newSocket,
  type Outcome,
  onDisconnect,
  onFrame,
  onKick,
  type RoomView,
} from "./room";
import { Roster } from "./roster";
import { readSocketState, type SocketState } from "./socket-state";

/** The Worker passes the (already validated) room id to its object in this header. */
export const ROOM_ID_HEADER = "x-hush-room-id";

const NEXT_SEQ_KEY = "nextSeq";

/** The alarm never fires more often than this, however many sockets fall due. */
const ALARM_GRANULARITY_MS = 1_000;
/**
 * Sockets the room closed whose peer never answered the close still take runtime memory: beyond
 * this many times the socket cap, counted with the open ones, the room takes no new socket.
 */
const CLOSED_SOCKETS_FACTOR = 4;

/** RFC 6455 section 7.4.1: the server hit a condition it cannot recover from. */
const INTERNAL_ERROR_CLOSE = 1011;

export class Room extends DurableObject<Env> {
  /** Parsed once per instance: the vars cannot change while it lives. */
  private readonly config = readRoomConfig(this.env);
  private roster: Roster | null = null;
  /** What each member may still receive (recipient-budget.ts); in memory only, by design. */
  private readonly allowances = new Map<string, Allowance>();
  /**
   * Each socket's state as this instance last wrote it to the socket's attachment (the only
   * writer: saveState), so that an event does not deserialize and re-validate the attachment: that
   * was a fifth of the room's CPU in a 200-person call. A fresh instance (after hibernation or
   * eviction) starts empty and reads each attachment once, defensively.
   */
  private readonly socketStates = new WeakMap<WebSocket, SocketState>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Heartbeats never wake the object: the runtime answers them and records when it did.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT.ping, HEARTBEAT.pong));
  }

  override async fetch(request: Request): Promise<Response> {
    const roomId = request.headers.get(ROOM_ID_HEADER);
    if (
      roomId === null ||
      !CANONICAL_ID_PATTERN.test(roomId) ||
      request.headers.get("Upgrade") !== "websocket"
    )
      return new Response("the Room only accepts WebSocket upgrades from the Worker", {
        status: 400,
      });
    const config = this.config;
    if (!config.ok) return new Response(config.error, { status: 500 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const { open, listed } = this.socketCounts();
    if (
      open >= config.value.maxSockets ||
      listed >= config.value.maxSockets * CLOSED_SOCKETS_FACTOR
    ) {
      // Refused with the protocol's own words, without ever becoming one of the room's sockets.
      server.accept();
      sendQuietly(server, {
        type: "error",
        code: "room_full",
        message: `the room has too many connections (${config.value.maxSockets})`,
      });
      closeQuietly(server, CLOSE_CODES.room_full, "room_full");
      return new Response(null, { status: 101, webSocket: client });
    }
    const now = Date.now();
    this.ctx.acceptWebSocket(server);
    this.saveState(server, newSocket(roomId, config.value, now));
    await this.alarmBy(now + config.value.joinDeadlineMs);
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
   * Liveness: closes sockets past their join deadline and members silent past the heartbeat
   * timeout (the others hear `member-left`), then sets the alarm for the next socket to fall due.
   * A runtime restart drops every socket without close events; the alarm then finds no member and
   * forgets the room.
   */
  override async alarm(): Promise<void> {
    await this.enqueue(async () => {
      const config = this.roomConfig();
      const now = Date.now();
      let next = Number.POSITIVE_INFINITY;
      for (const ws of this.ctx.getWebSockets()) {
        const socket = this.stateOf(ws);
        if (socket === null) continue;
        const pingAt = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null;
        const reason = overdue(socket, pingAt, config, now);
        if (reason !== null) {
          await this.kickSocket(ws, socket, reason);
          continue;
        }
        const due = dueAt(socket, pingAt, config);
        if (due !== null) next = Math.min(next, due);
      }
      if (this.loadRoster().size === 0 && this.ctx.storage.kv.get(NEXT_SEQ_KEY) !== undefined)
        await this.forget();
      if (Number.isFinite(next))
        await this.ctx.storage.setAlarm(Math.max(next, now + ALARM_GRANULARITY_MS));
    });
  }

  /**
   * Runs events one at a time, in the order the runtime delivered them, even across the await of
   * token minting: every member then sees joins, leaves and payloads in one order, and a client's
   * frames are handled in the order it sent them. The runtime does not evict an object while work
   * is in flight.
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

  private roomConfig(): RoomConfig {
    if (!this.config.ok) throw new Error(this.config.error);
    return this.config.value;
  }

  private async handle(
    ws: WebSocket,
    decide: (room: RoomView, socket: SocketState, config: RoomConfig) => Outcome,
  ): Promise<void> {
    const socket = this.stateOf(ws);
    if (socket === null) {
      closeQuietly(ws, INTERNAL_ERROR_CLOSE, "session state lost; reconnect");
      return;
    }
    const config = this.roomConfig();
    const roster = this.loadRoster();
    const view = roster.view();
    const seqBefore = view.nextSeq;
    let outcome = decide(view, socket, config);

    let grant: LiveKitGrant | null = null;
    if (outcome.deliveries.some((d) => d.kind !== "message")) {
      grant = await this.mint(outcome.socket);
      if (grant === null) {
        // Refuse without admitting: the member could not reach the SFU anyway.
        outcome = {
          ...onDisconnect(roster.view(), socket),
          close: { code: INTERNAL_ERROR_CLOSE, reason: "server cannot mint LiveKit tokens" },
        };
      }
    }
    if (outcome.nextSeq !== seqBefore && !outcome.forget) {
      this.ctx.storage.kv.put(NEXT_SEQ_KEY, outcome.nextSeq);
      await this.alarmBy(Date.now() + config.heartbeatTimeoutMs);
    }
    await this.apply(ws, socket, outcome, grant);
  }

  /** The room drops a socket on its own; its close event then finds it closed and does nothing. */
  private async kickSocket(ws: WebSocket, socket: SocketState, reason: KickReason): Promise<void> {
    await this.apply(ws, socket, onKick(this.loadRoster().view(), socket, reason), null);
  }

  /**
   * docs/protocol.md, Lifecycle guarantees: when the last member leaves, the room forgets
   * everything it knew.
   */
  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    const roster = this.loadRoster();
    roster.nextSeq = FIRST_SEQ;
    // Sockets still waiting to join keep their deadline.
    const config = this.roomConfig();
    let next = Number.POSITIVE_INFINITY;
    for (const ws of this.ctx.getWebSockets()) {
      const state = this.stateOf(ws);
      if (state?.phase === "pending") next = Math.min(next, dueAt(state, null, config) ?? next);
    }
    if (Number.isFinite(next))
      await this.ctx.storage.setAlarm(Math.max(next, Date.now() + ALARM_GRANULARITY_MS));
  }

  /**
   * `open`: the sockets that count against the socket cap, pending and joined ones. A socket the
   * room has closed stays in getWebSockets() until its peer answers the close, which a hostile peer
   * never does; counting it would let sockets that never joined hold their slots past the join
   * deadline, and lock everyone else out. `listed`: every socket the runtime keeps for the room,
   * closed ones too, bounded at CLOSED_SOCKETS_FACTOR times the cap so they cannot grow without
   * end either.
   */
  private socketCounts(): { open: number; listed: number } {
    const sockets = this.ctx.getWebSockets();
    let open = 0;
    for (const ws of sockets) {
      const phase = this.stateOf(ws)?.phase;
      if (phase === "pending" || phase === "joined") open++;
    }
    return { open, listed: sockets.length };
  }

  /** Makes sure the alarm fires no later than `at`. */
  private async alarmBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** A socket's state: as last saved by this instance, else read from its attachment. */
  private stateOf(ws: WebSocket): SocketState | null {
    const known = this.socketStates.get(ws);
    if (known !== undefined) return known;
    const state = readSocketState(ws.deserializeAttachment());
    if (state !== null) this.socketStates.set(ws, state);
    return state;
  }

  /** The one way a socket's state changes: its attachment (for after hibernation) and the cache. */
  private saveState(ws: WebSocket, state: SocketState): void {
    ws.serializeAttachment(state);
    this.socketStates.set(ws, state);
  }

  /** The roster of this instance, rebuilt from the attachments on its first event. */
  private loadRoster(): Roster {
    if (this.roster === null) {
      const stored = this.ctx.storage.kv.get(NEXT_SEQ_KEY);
      const nextSeq =
        typeof stored === "number" && Number.isSafeInteger(stored) && stored >= FIRST_SEQ
          ? stored
          : FIRST_SEQ;
      this.roster = Roster.rebuild(this.ctx.getWebSockets(), nextSeq);
    }
    return this.roster;
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

  /**
   * Applies an outcome: the acting socket's attachment and roster entry, the counter, the
   * deliveries (each charged to its recipient's budget), the close, and the forgetting. A recipient
   * over its budget gets nothing more and is dropped after the others' deliveries.
   */
  private async apply(
    ws: WebSocket,
    before: SocketState,
    outcome: Outcome,
    grant: LiveKitGrant | null,
  ): Promise<void> {
    const config = this.roomConfig();
    const roster = this.loadRoster();
    this.saveState(ws, outcome.socket);
    const after = outcome.socket;
    if (before.phase === "joined" && after.phase !== "joined") {
      roster.remove(before.participantId);
      this.allowances.delete(before.participantId);
    }
    if (after.phase === "joined" && before.phase !== "joined")
      roster.admit(
        { participantId: after.participantId, seq: after.seq, announcement: after.announcement },
        ws,
      );
    roster.nextSeq = outcome.forget ? FIRST_SEQ : outcome.nextSeq;

    const now = Date.now();
    const overloaded: string[] = [];
    for (const delivery of outcome.deliveries) {
      const message = render(delivery, grant);
      if (message === null) continue;
      const recipient =
        delivery.kind === "message" && delivery.to !== "self"
          ? delivery.to.participantId
          : after.phase === "joined"
            ? after.participantId
            : null;
      const target =
        delivery.kind === "message" && delivery.to !== "self"
          ? roster.socketOf(delivery.to.participantId)
          : ws;
      if (target === undefined) continue;
      const text = JSON.stringify(message);
      if (recipient !== null) {
        if (overloaded.includes(recipient)) continue;
        const allowance = chargeDelivery(
          this.allowances.get(recipient) ?? fullAllowance(config.recipient, now),
          config.recipient,
          text.length,
          now,
        );
        if (allowance === null) {
          overloaded.push(recipient);
          continue;
        }
        this.allowances.set(recipient, allowance);
      }
      sendQuietly(target, text);
    }
    if (outcome.close !== null) closeQuietly(ws, outcome.close.code, outcome.close.reason);
    if (outcome.forget) await this.forget();
    for (const participantId of overloaded) {
      const target = roster.socketOf(participantId);
      const state = target && this.stateOf(target);
      if (target && state) await this.kickSocket(target, state, "recipient_overloaded");
    }
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
function sendQuietly(ws: WebSocket, message: ServerMessage | string): void {
  try {
    ws.send(typeof message === "string" ? message : JSON.stringify(message));
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
