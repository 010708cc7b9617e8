// The rules of a room (docs/protocol.md, Session and Errors) as pure functions: an event and the
// room's current state go in, the acting socket's new state and what to send, close and forget come
// out. No I/O, no clock, no randomness: the Durable Object shell supplies all of that, and tests
// drive these functions directly.
import { assertNever } from "../../protocol/guards";
import type { RoomConfig } from "./room-config";
import { parseClientFrame } from "./frame";
import {
  CLOSE_CODES,
  type ClientMessage,
  type ErrorCode,
  LIMITS,
  type Member,
  PROTOCOL_VERSION,
  type ServerMessage,
} from "../../protocol/signalling";
import { fullBucket, oweBytes, takeBytes, takeToken } from "./rate-limit";
import type { JoinedSocket, PendingSocket, SocketState } from "./socket-state";

/** The room as the shell keeps it (its roster, rebuilt from the attachments after an eviction). */
export interface RoomView {
  /** Every admitted member by participant id, in seq order, the acting socket included if it is one. */
  members: ReadonlyMap<string, Member>;
  /** The seq the next admitted member gets; strictly increasing within a room's life. */
  nextSeq: number;
}

/** The first seq of a room's life. */
export const FIRST_SEQ = 1;

/** `self` is the socket that caused the event, which may not be a member yet. */
type Recipient = "self" | { participantId: string };

export type Delivery =
  | { kind: "message"; to: Recipient; message: ServerMessage }
  /** A `welcome` for the acting socket; the shell adds the LiveKit grant. */
  | { kind: "welcome"; self: { participantId: string; seq: number }; members: Member[] }
  /** A `token` answer for the acting socket; the shell adds the LiveKit grant. */
  | { kind: "token" };

export interface Outcome {
  /** The acting socket's new state (its attachment). */
  socket: SocketState;
  /** The room's next seq after this event. */
  nextSeq: number;
  /** What to send, in this order. */
  deliveries: Delivery[];
  /** Close the acting socket after the deliveries. */
  close: { code: number; reason: string } | null;
  /** The last member left: the room forgets everything (its storage is deleted). */
  forget: boolean;
}

/** Normal closure (RFC 6455 section 7.4.1) for a member that asked to leave. */
export const LEAVE_CLOSE_CODE = 1000;

export function newSocket(roomId: string, config: RoomConfig, now: number): PendingSocket {
  return { phase: "pending", roomId, bucket: fullBucket(config.rate, now), since: now };
}

/** Why the room drops a socket on its own (liveness.ts, recipient-budget.ts), with its close code. */
export type KickReason = "join_timeout" | "heartbeat_timeout" | "recipient_overloaded";

const KICKS: Record<KickReason, string> = {
  join_timeout: "no join in time",
  heartbeat_timeout: "no frame or heartbeat in time",
  recipient_overloaded: "more to relay than the member reads",
};

function error(code: ErrorCode, message: string): Delivery {
  return { kind: "message", to: "self", message: { type: "error", code, message } };
}

function unchanged(room: RoomView, socket: SocketState, deliveries: Delivery[] = []): Outcome {
  return { socket, nextSeq: room.nextSeq, deliveries, close: null, forget: false };
}

/** The other members in seq order (the roster keeps that order). */
function others(room: RoomView, participantId: string): Member[] {
  const list: Member[] = [];
  for (const member of room.members.values())
    if (member.participantId !== participantId) list.push(member);
  return list;
}

/** A member is gone: everyone else hears it, and the room forgets everything if it was the last. */
function departure(room: RoomView, member: JoinedSocket): Pick<Outcome, "deliveries" | "forget"> {
  const remaining = others(room, member.participantId);
  return {
    deliveries: remaining.map((other) => ({
      kind: "message",
      to: { participantId: other.participantId },
      message: { type: "member-left", participantId: member.participantId, seq: member.seq },
    })),
    forget: remaining.length === 0,
  };
}

/** Refuses the socket for good: the error, then the close code docs/protocol.md gives it. */
function refuseAndClose(
  room: RoomView,
  socket: PendingSocket | JoinedSocket,
  code: ErrorCode,
  message: string,
  closeCode: number,
): Outcome {
  const gone =
    socket.phase === "joined" ? departure(room, socket) : { deliveries: [], forget: false };
  return {
    socket: { phase: "closed" },
    nextSeq: room.nextSeq,
    deliveries: [error(code, message), ...gone.deliveries],
    close: { code: closeCode, reason: code },
    forget: gone.forget,
  };
}

function join(
  room: RoomView,
  socket: PendingSocket,
  request: Extract<ClientMessage, { type: "join" }>,
  config: RoomConfig,
): Outcome {
  const { participantId, announcement } = request;
  if (room.members.has(participantId))
    return refuseAndClose(
      room,
      socket,
      "duplicate_participant",
      "this participant id is already in the room; join with a fresh id",
      CLOSE_CODES.duplicate_participant,
    );
  if (room.members.size >= config.capacity)
    return refuseAndClose(
      room,
      socket,
      "room_full",
      `the room is full (${config.capacity} members)`,
      CLOSE_CODES.room_full,
    );
  const seq = room.nextSeq;
  const member: Member = { participantId, seq, announcement };
  const present = others(room, participantId);
  return {
    socket: {
      phase: "joined",
      roomId: socket.roomId,
      participantId,
      seq,
      announcement,
      bucket: socket.bucket,
    },
    nextSeq: seq + 1,
    deliveries: [
      { kind: "welcome", self: { participantId, seq }, members: present },
      ...present.map(
        (other): Delivery => ({
          kind: "message",
          to: { participantId: other.participantId },
          message: { type: "member-joined", member },
        }),
      ),
    ],
    close: null,
    forget: false,
  };
}

function memberRequest(room: RoomView, socket: JoinedSocket, request: ClientMessage): Outcome {
  const from = socket.participantId;
  switch (request.type) {
    case "join":
      return unchanged(room, socket, [error("already_joined", "this socket has already joined")]);
    case "send": {
      const deliveries: Delivery[] = [];
      const unknown: string[] = [];
      for (const item of request.messages) {
        if (room.members.has(item.to))
          deliveries.push({
            kind: "message",
            to: { participantId: item.to },
            message: { type: "message", from, payload: item.payload },
          });
        else unknown.push(item.to);
      }
      if (unknown.length > 0)
        deliveries.push(
          error(
            "unknown_recipient",
            `${unknown.length} of ${request.messages.length} items name no current member and were dropped: ${[...new Set(unknown)].slice(0, 10).join(", ")}`,
          ),
        );
      return unchanged(room, socket, deliveries);
    }
    case "broadcast":
      return unchanged(
        room,
        socket,
        others(room, from).map((other) => ({
          kind: "message",
          to: { participantId: other.participantId },
          message: { type: "broadcast", from, payload: request.payload },
        })),
      );
    case "token":
      return unchanged(room, socket, [{ kind: "token" }]);
    case "leave":
      return {
        socket: { phase: "closed" },
        nextSeq: room.nextSeq,
        ...departure(room, socket),
        close: { code: LEAVE_CLOSE_CODE, reason: "left" },
      };
    default:
      return assertNever(request);
  }
}

/**
 * Refused frames a socket may send before it has joined (an addition to the base protocol,
 * docs/protocol.md, Rate limits): a client
 * that means to join sends `join` first, so a stranger sending junk is closed (4408) early instead
 * of being answered for as long as the join deadline lasts.
 */
export const PENDING_REFUSALS = 10;

/** One frame from a socket. */
export function onFrame(
  room: RoomView,
  socket: SocketState,
  data: string | ArrayBuffer,
  config: RoomConfig,
  now: number,
): Outcome {
  const outcome = decideFrame(room, socket, data, config, now);
  if (socket.phase !== "pending" || outcome.socket.phase !== "pending" || outcome.close !== null)
    return outcome;
  const refused = outcome.deliveries.some(
    (d) => d.kind === "message" && d.to === "self" && d.message.type === "error",
  );
  if (!refused) return outcome;
  const refusals = (outcome.socket.refusals ?? 0) + 1;
  const counted: PendingSocket = { ...outcome.socket, refusals };
  if (refusals < PENDING_REFUSALS) return { ...outcome, socket: counted };
  return refuseAndClose(
    room,
    counted,
    "rate_limited",
    `${PENDING_REFUSALS} refused frames before joining; closing`,
    CLOSE_CODES.persistent_abuse,
  );
}

function decideFrame(
  room: RoomView,
  socket: SocketState,
  data: string | ArrayBuffer,
  config: RoomConfig,
  now: number,
): Outcome {
  if (socket.phase === "closed") return unchanged(room, socket);

  const { bucket, verdict } = takeToken(socket.bucket, config.rate, now);
  const charged: PendingSocket | JoinedSocket = { ...socket, bucket };
  if (verdict === "abusive")
    return refuseAndClose(
      room,
      charged,
      "rate_limited",
      "too many frames for too long; closing",
      CLOSE_CODES.persistent_abuse,
    );
  if (verdict === "limited")
    return unchanged(room, charged, [
      error(
        "rate_limited",
        `frame dropped: more than ${config.rate.perSecond} frames per second (burst ${config.rate.burst})`,
      ),
    ]);

  // Bytes are checked before parsing, so a socket over its byte rate costs no parse at all. A frame
  // refused for its size was only measured, never read: it costs at most the frame limit.
  const read = Math.min(frameLength(data), LIMITS.frameBytes);
  const spent = takeBytes(charged.bucket, config.rate, read);
  charged.bucket = spent.bucket;
  if (spent.verdict === "abusive")
    return refuseAndClose(
      room,
      charged,
      "rate_limited",
      "too many bytes for too long; closing",
      CLOSE_CODES.persistent_abuse,
    );
  if (spent.verdict === "limited")
    return unchanged(room, charged, [
      error(
        "rate_limited",
        `frame dropped: it and what it relays exceed ${config.rate.bytesPerSecond} bytes per second (burst ${config.rate.bytesBurst})`,
      ),
    ]);

  const frame = parseClientFrame(data);
  // What it relays is charged once it is known to be allowed; the debt is paid off before the next.
  if (frame.ok)
    charged.bucket = oweBytes(charged.bucket, relayedBytes(room, charged, frame.message));

  if (!frame.ok) {
    const { code, message } = frame.refusal;
    if (code === "unsupported_version") {
      if (charged.phase === "joined")
        return unchanged(room, charged, [
          error("already_joined", "this socket has already joined"),
        ]);
      return refuseAndClose(room, charged, code, message, CLOSE_CODES.unsupported_version);
    }
    return unchanged(room, charged, [error(code, message)]);
  }

  const request = frame.message;
  if (charged.phase === "joined") return memberRequest(room, charged, request);
  if (request.type !== "join")
    return unchanged(room, charged, [error("not_joined", `send "join" before "${request.type}"`)]);
  if (request.v !== PROTOCOL_VERSION)
    return refuseAndClose(
      room,
      charged,
      "unsupported_version",
      `protocol version ${PROTOCOL_VERSION} only`,
      CLOSE_CODES.unsupported_version,
    );
  return join(room, charged, request, config);
}

function frameLength(data: string | ArrayBuffer): number {
  return typeof data === "string" ? data.length : data.byteLength;
}

/** What the room relays for a request, beyond the frame itself: payload size times fan-out. */
function relayedBytes(
  room: RoomView,
  socket: PendingSocket | JoinedSocket,
  request: ClientMessage,
): number {
  if (socket.phase !== "joined") {
    // A join is announced to every member present.
    return request.type === "join" ? request.announcement.length * room.members.size : 0;
  }
  switch (request.type) {
    case "send": {
      let total = 0;
      for (const item of request.messages) total += item.payload.length;
      return total;
    }
    case "broadcast":
      return request.payload.length * Math.max(0, room.members.size - 1);
    case "join":
    case "token":
    case "leave":
      return 0;
    default:
      return assertNever(request);
  }
}

/** The room drops a socket on its own: a member's departure is told to the others. */
export function onKick(room: RoomView, socket: SocketState, reason: KickReason): Outcome {
  if (socket.phase === "closed") return unchanged(room, socket);
  // A socket that never joined is told why in the protocol's words; a member dropped for silence
  // or for not reading would not read it.
  const gone =
    socket.phase === "joined"
      ? departure(room, socket)
      : { deliveries: [error("not_joined", `no "join" in time; closing`)], forget: false };
  return {
    socket: { phase: "closed" },
    nextSeq: room.nextSeq,
    deliveries: gone.deliveries,
    close: { code: CLOSE_CODES[reason], reason: KICKS[reason] },
    forget: gone.forget,
  };
}

/** The socket closed or failed without a `leave`: the same as leaving. */
export function onDisconnect(room: RoomView, socket: SocketState): Outcome {
  if (socket.phase !== "joined")
    return {
      socket: { phase: "closed" },
      nextSeq: room.nextSeq,
      deliveries: [],
      close: null,
      forget: false,
    };
  return {
    socket: { phase: "closed" },
    nextSeq: room.nextSeq,
    ...departure(room, socket),
    close: null,
  };
}
