// The Worker's own pure room rules (worker/src/room.ts: admission, join order, seq, relaying,
// leaves, refusals, liveness kicks) under a shell that does in memory what the Durable Object does
// with its sockets (worker/src/room-object.ts): it keeps each socket's state and the roster, applies
// every Outcome (state, roster, stored counter, deliveries, close, forgetting) and adds a made-up
// LiveKit grant to welcomes and token answers. The simulator's relay (test/core/sim/relay.ts) and
// the workerd unit tests' RoomDriver (test/worker/room-driver.ts) both put their sockets behind it;
// whatever a relay does to frames on the way happens outside, and this file never lies.
import type { Member, ServerMessage } from "../../protocol/signalling.js";
import { dueAt, overdue } from "../../worker/src/liveness.js";
import {
  type Delivery,
  FIRST_SEQ,
  newSocket,
  type Outcome,
  onDisconnect,
  onFrame,
  onKick,
  type RoomView,
} from "../../worker/src/room.js";
import type { RoomConfig } from "../../worker/src/room-config.js";
import type { SocketState } from "../../worker/src/socket-state.js";

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

export class RoomShell<S extends RoomSocket> {
  /** The roster in seq order (members join with the next seq, so insertion order is seq order). */
  private readonly members = new Map<string, Member>();
  private readonly sockets = new Map<string, S>();
  private nextSeq = FIRST_SEQ;
  /** The counter as the object stores it: written when a join moves it, deleted when it forgets. */
  storedSeq: number | undefined = undefined;
  /** Room life, 1, 2, ...: when the last member leaves the room forgets everything, seq included. */
  life = 1;

  constructor(
    private readonly config: RoomConfig,
    private readonly now: () => number,
    private readonly output: RoomOutput<S>,
  ) {}

  /** A fresh socket's state, as the object writes it on upgrade. */
  accept(roomId: string): SocketState {
    return newSocket(roomId, this.config, this.now());
  }

  /** One frame from the socket; the Outcome is returned for tests that look at the decision. */
  frame(socket: S, data: string | ArrayBuffer): Outcome {
    return this.apply(socket, onFrame(this.view(), socket.state, data, this.config, this.now()));
  }

  disconnect(socket: S): Outcome {
    return this.apply(socket, onDisconnect(this.view(), socket.state));
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

  /** As room-object.ts applies an outcome, without the recipient budget (no member here stops reading). */
  private apply(socket: S, outcome: Outcome): Outcome {
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
    if (outcome.forget) {
      this.storedSeq = undefined;
      this.life += 1;
    } else if (outcome.nextSeq !== this.nextSeq) this.storedSeq = outcome.nextSeq;
    this.nextSeq = outcome.forget ? FIRST_SEQ : outcome.nextSeq;
    for (const delivery of outcome.deliveries) {
      const target =
        delivery.kind === "message" && delivery.to !== "self"
          ? this.sockets.get(delivery.to.participantId)
          : socket;
      if (target) this.output.send(target, render(delivery, after));
    }
    if (outcome.close !== null) this.output.close(socket, outcome.close.code);
    return outcome;
  }
}

/** The shell's part of a delivery: welcomes and token answers carry a (made-up) LiveKit grant. */
function render(delivery: Delivery, self: SocketState): ServerMessage {
  if (delivery.kind !== "message" && self.phase !== "joined")
    throw new Error("the rules granted LiveKit access to a socket that is no member");
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
