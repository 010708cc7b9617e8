// The room behind the simulator's relay: the Worker's own pure rules (worker/src/room.ts: admission,
// join order, seq, relaying, leaves, refusals, liveness kicks) under a shell that does in memory what
// the Durable Object does with its sockets (worker/src/room-object.ts): it keeps each socket's state
// and the roster, applies every Outcome (state, roster, counter, deliveries, close, forgetting) and
// adds the LiveKit grant to welcomes and token answers. Whatever the relay does to frames on the way
// (relay.ts) happens outside; this file never lies.
import type { Member, ServerMessage } from "../../../protocol/signalling.js";
import { dueAt, overdue } from "../../../worker/src/liveness.js";
import {
  type Delivery,
  FIRST_SEQ,
  newSocket,
  type Outcome,
  onDisconnect,
  onFrame,
  onKick,
  type RoomView,
} from "../../../worker/src/room.js";
import { type RoomConfig, readRoomConfig } from "../../../worker/src/room-config.js";
import type { SocketState } from "../../../worker/src/socket-state.js";

const MiB = 1024 * 1024;

/**
 * The Worker's settings with limits no simulated call comes near: the simulator is about keys, and
 * a client refused for its rate would be a finding about the settings, not the schedule. The join
 * deadline and heartbeat timeout keep the Worker's defaults, so a stalled join is closed by the
 * room as it would be in production.
 */
function simRoomConfig(): RoomConfig {
  const parsed = readRoomConfig({
    ROOM_CAPACITY: 10_000,
    RATE_LIMIT_PER_SECOND: 1_000_000,
    RATE_LIMIT_BURST: 1_000_000,
    RATE_LIMIT_STRIKES: 1_000_000,
    RATE_LIMIT_BYTES_PER_SECOND: 1024 * MiB,
    RATE_LIMIT_BYTES_BURST: 1024 * MiB,
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export const SIM_ROOM_CONFIG = simRoomConfig();

/** What the room keeps of one socket: its state (the attachment) and its last heartbeat ping. */
export interface RoomSocket {
  state: SocketState;
  lastPingAt: number | null;
}

/** Where the room's decisions go: the relay, which carries them to the clients. */
export interface RoomOutput<S extends RoomSocket> {
  admitted(socket: S, member: Member): void;
  removed(socket: S): void;
  send(socket: S, message: ServerMessage): void;
  close(socket: S, code: number): void;
}

export class SimRoom<S extends RoomSocket> {
  /** The roster in seq order (members join with the next seq, so insertion order is seq order). */
  private readonly members = new Map<string, Member>();
  private readonly sockets = new Map<string, S>();
  private nextSeq = FIRST_SEQ;
  /** Room life, 1, 2, ...: when the last member leaves the room forgets everything, seq included. */
  life = 1;

  constructor(
    private readonly now: () => number,
    private readonly output: RoomOutput<S>,
    private readonly config: RoomConfig = SIM_ROOM_CONFIG,
  ) {}

  /** A fresh socket's state, as the object writes it on upgrade. */
  accept(roomId: string): SocketState {
    return newSocket(roomId, this.config, this.now());
  }

  frame(socket: S, data: string): void {
    this.apply(socket, onFrame(this.view(), socket.state, data, this.config, this.now()));
  }

  disconnect(socket: S): void {
    this.apply(socket, onDisconnect(this.view(), socket.state));
  }

  /** The runtime answered a heartbeat ping for this socket (the rules never see pings). */
  pinged(socket: S): void {
    socket.lastPingAt = this.now();
  }

  /**
   * What the object's alarm does for one socket: kicks it if it is overdue (no join in time, or a
   * silent member), else says when to look again; null once there is nothing more to watch.
   */
  checkLiveness(socket: S): number | null {
    const reason = overdue(socket.state, socket.lastPingAt, this.config, this.now());
    if (reason === null) return dueAt(socket.state, socket.lastPingAt, this.config);
    this.apply(socket, onKick(this.view(), socket.state, reason));
    return null;
  }

  private view(): RoomView {
    return { members: this.members, nextSeq: this.nextSeq };
  }

  /** As room-object.ts applies an outcome, without the recipient budget (no simulated member stops reading). */
  private apply(socket: S, outcome: Outcome): void {
    const before = socket.state;
    const after = outcome.socket;
    socket.state = after;
    if (before.phase === "joined" && after.phase !== "joined") {
      this.members.delete(before.participantId);
      this.sockets.delete(before.participantId);
      this.output.removed(socket);
    }
    if (after.phase === "joined" && before.phase !== "joined") {
      const member = {
        participantId: after.participantId,
        seq: after.seq,
        announcement: after.announcement,
      };
      this.members.set(member.participantId, member);
      this.sockets.set(member.participantId, socket);
      this.output.admitted(socket, member);
    }
    this.nextSeq = outcome.forget ? FIRST_SEQ : outcome.nextSeq;
    if (outcome.forget) this.life += 1;
    for (const delivery of outcome.deliveries) {
      const target =
        delivery.kind === "message" && delivery.to !== "self"
          ? this.sockets.get(delivery.to.participantId)
          : socket;
      if (target) this.output.send(target, render(delivery, after));
    }
    if (outcome.close !== null) this.output.close(socket, outcome.close.code);
  }
}

/** The shell's part of a delivery: welcomes and token answers carry a (made-up) LiveKit grant. */
function render(delivery: Delivery, self: SocketState): ServerMessage {
  const seq = self.phase === "joined" ? self.seq : 0;
  switch (delivery.kind) {
    case "message":
      return delivery.message;
    case "welcome":
      return {
        type: "welcome",
        v: 1,
        self: delivery.self,
        members: delivery.members,
        livekit: { url: "ws://sfu.invalid", token: `token-${seq}` },
      };
    case "token":
      return { type: "token", livekit: { url: "ws://sfu.invalid", token: `token-${seq}-again` } };
  }
}
