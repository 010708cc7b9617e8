// An in-memory stand-in for the Worker's room (docs/protocol.md) and the network in front of it,
// for the simulator. The room keeps the protocol's membership rules honestly (admission, seq, join
// and leave notices in order); the relay around it is hostile on request: it can drop, delay,
// duplicate, reorder, replay and inject envelopes and broadcasts, forge announcements (ghosts) and
// drop sockets. It also lies about membership (issue 9): tamper rules withhold or hold any frame
// for chosen members (a leave hidden from the leader, split views, a fresh key withheld), joins can
// be stalled (never answered), and announcements recorded in this or an earlier room life can be
// replayed.

import type { SocketConstructor, SocketLike } from "../../../web/src/core/signalling-client.js";
import { ClientMessage, HEARTBEAT } from "../../../protocol/signalling.js";
import type { VirtualClock } from "./virtual-clock.js";

export interface Faults {
  /** Chance an envelope or broadcast frame is dropped. */
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** false: per-connection FIFO like the real room; true: each frame gets its own delay. */
  readonly reorder: boolean;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Chance per delivered frame that an old recorded frame is replayed to a random member later. */
  readonly replayRate: number;
}

export const HONEST: Faults = {
  dropRate: 0,
  duplicateRate: 0,
  reorder: false,
  minDelayMs: 1,
  maxDelayMs: 40,
  replayRate: 0,
};

type Listener = (event: never) => void;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export class FakeSocket implements SocketLike {
  readyState = CONNECTING;
  private readonly listeners = new Map<string, Listener[]>();
  sent = 0;

  constructor(
    private readonly relay: Relay,
    readonly client: number,
  ) {}

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error("send on a socket that is not open");
    this.sent += 1;
    this.relay.fromClient(this, data);
  }

  close(code = 1000): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.relay.clientClosed(this, code);
  }

  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(type: "error", listener: () => void): void;
  addEventListener(type: string, listener: Listener): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  dispatch(type: "open" | "message" | "close", event: unknown): void {
    for (const listener of this.listeners.get(type) ?? [])
      (listener as (e: unknown) => void)(event);
  }
}

export interface Connection {
  readonly id: number;
  readonly socket: FakeSocket;
  participantId?: string;
  seq?: number;
  announcement?: string;
  joined: boolean;
  open: boolean;
  lastDownAt: number;
  lastUpAt: number;
}

export interface RelayHooks {
  admitted(connection: Connection): void;
  removed(connection: Connection): void;
  /** Called right before a server frame reaches a client (and `after` right after). */
  delivering(connection: Connection, frame: ServerFrame): void;
  delivered(connection: Connection, frame: ServerFrame): void;
  /** Every frame a client sends, as it leaves the client. */
  sent(connection: Connection, data: string): void;
  /** A client threw while handling a frame (a browser would log it and keep running). */
  threw(connection: Connection, error: unknown): void;
}

/**
 * What a tamper rule does with a frame on its way down to `to`: "drop" it for good, "hold" it until
 * heal() (a lie about membership that is later corrected), or undefined to let it pass (a rule may
 * also return a rewritten frame).
 */
export type TamperVerdict = "drop" | "hold" | ServerFrame | undefined;
export type TamperRule = (to: Connection, frame: ServerFrame) => TamperVerdict;

/** An admission the room made: what a recording server keeps to replay later. */
export interface Admission {
  readonly participantId: string;
  readonly seq: number;
  readonly announcement: string;
  /** Room life (1, 2, ...): the room forgets everything and restarts seq when it empties. */
  readonly life: number;
  readonly connectionId: number;
}

/** A replayed announcement the relay pretends is a member (never a real socket). */
export interface ReplayedMember {
  readonly participantId: string;
  readonly seq: number;
  readonly announcement: string;
  readonly from: Admission;
}

export type ServerFrame = { type: string } & Record<string, unknown>;

interface Recorded {
  readonly to: Connection;
  readonly frame: ServerFrame;
}

export class Relay {
  faults: Faults = HONEST;
  /** Tamper rules, consulted in order for every downlink frame (membership notices included). */
  rules: TamperRule[] = [];
  /** Frames held by a rule, delivered in order by heal(). */
  readonly held: Recorded[] = [];
  /** Joins from these participant ids are swallowed: never admitted, never answered. */
  readonly stalledJoins = new Set<string>();
  /** Join frames that were swallowed (the client waits for a welcome that never comes). */
  stalledJoinCount = 0;
  /**
   * docs/protocol.md, Lifecycle guarantees: when the last member leaves the room forgets
   * everything; seq may restart.
   */
  restartSeqOnEmpty = false;
  life = 1;
  readonly admissions: Admission[] = [];
  /** Recordings currently replayed as members, by participant id. */
  readonly replayed = new Map<string, ReplayedMember>();
  /** Envelopes clients addressed to a replayed recording (the server keeps them for its accomplice). */
  readonly collectedForReplayed: { from: string; to: string; payload: string }[] = [];
  private nextSeq = 1;
  private nextConnection = 1;
  readonly connections: Connection[] = [];
  readonly recorded: Recorded[] = [];
  /** Frames scheduled but not yet handled (both directions), so checks can wait for quiet. */
  inFlight = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: { float(): number; int(n: number): number },
    private readonly hooks: RelayHooks,
  ) {}

  /** The WebSocket constructor a simulated client gets: every socket it opens is tagged with it. */
  socketClassFor(client: number): SocketConstructor {
    const relay = this;
    return class extends FakeSocket {
      constructor(_url: string) {
        super(relay, client);
        relay.accept(this);
      }
    };
  }

  members(): Connection[] {
    return this.connections.filter((c) => c.joined);
  }

  private accept(socket: FakeSocket): void {
    const connection: Connection = {
      id: this.nextConnection++,
      socket,
      joined: false,
      open: true,
      lastDownAt: 0,
      lastUpAt: 0,
    };
    this.connections.push(connection);
    this.clock.setTimeout(() => {
      if (!connection.open) return;
      socket.readyState = OPEN;
      socket.dispatch("open", {});
    }, 1 + this.random.int(5));
  }

  private connectionOf(socket: FakeSocket): Connection | undefined {
    return this.connections.find((c) => c.socket === socket);
  }

  fromClient(socket: FakeSocket, data: string): void {
    const connection = this.connectionOf(socket);
    if (!connection) return;
    this.hooks.sent(connection, data);
    // Uplink: in order, small delay; the hostile part of the relay acts on the downlink.
    const at = Math.max(connection.lastUpAt, this.clock.now() + 1 + this.random.int(5));
    connection.lastUpAt = at;
    this.inFlight += 1;
    this.clock.setTimeout(() => {
      this.inFlight -= 1;
      if (connection.open) this.handle(connection, data);
    }, at - this.clock.now());
  }

  clientClosed(socket: FakeSocket, code: number): void {
    const connection = this.connectionOf(socket);
    if (!connection) return;
    this.clock.setTimeout(() => this.close(connection, code), 1 + this.random.int(5));
  }

  /** The network drops a client's connection (both ends see it close). */
  dropConnection(connection: Connection): void {
    if (!connection.open) return;
    connection.socket.readyState = CLOSED;
    this.close(connection, 1006);
  }

  private close(connection: Connection, code: number): void {
    if (!connection.open) return;
    connection.open = false;
    this.remove(connection);
    this.clock.setTimeout(
      () => connection.socket.dispatch("close", { code, reason: "" }),
      1 + this.random.int(5),
    );
  }

  private remove(connection: Connection): void {
    if (!connection.joined) return;
    connection.joined = false;
    this.hooks.removed(connection);
    const others = this.members();
    for (const other of others) {
      this.deliver(other, {
        type: "member-left",
        participantId: connection.participantId,
        seq: connection.seq,
      });
    }
    if (others.length === 0) {
      // The room empties: a new life begins, with nothing remembered (and seq restarting if asked).
      this.life += 1;
      if (this.restartSeqOnEmpty) this.nextSeq = 1;
    }
  }

  private handle(connection: Connection, data: string): void {
    // The runtime answers heartbeats itself, without the room seeing them.
    if (data === HEARTBEAT.ping) {
      this.deliver(connection, JSON.parse(HEARTBEAT.pong) as ServerFrame);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      json = undefined;
    }
    const parsed = ClientMessage.safeParse(json);
    if (!parsed.success) {
      this.deliver(connection, { type: "error", code: "bad_message", message: "bad frame" });
      return;
    }
    const message = parsed.data;
    if (message.type !== "join" && !connection.joined) {
      this.deliver(connection, { type: "error", code: "not_joined", message: "join first" });
      return;
    }
    switch (message.type) {
      case "join": {
        if (connection.joined) {
          this.deliver(connection, { type: "error", code: "already_joined", message: "again" });
          return;
        }
        if (this.stalledJoins.has(message.participantId)) {
          this.stalledJoinCount += 1;
          return;
        }
        if (this.members().some((m) => m.participantId === message.participantId)) {
          this.deliver(connection, {
            type: "error",
            code: "duplicate_participant",
            message: "dup",
          });
          this.serverClose(connection, 4409);
          return;
        }
        const others = this.members();
        connection.joined = true;
        connection.participantId = message.participantId;
        connection.announcement = message.announcement;
        connection.seq = this.nextSeq++;
        this.admissions.push({
          participantId: message.participantId,
          seq: connection.seq,
          announcement: message.announcement,
          life: this.life,
          connectionId: connection.id,
        });
        this.hooks.admitted(connection);
        this.deliver(connection, {
          type: "welcome",
          v: 1,
          self: { participantId: message.participantId, seq: connection.seq },
          members: others.map((m) => this.memberOf(m)),
          livekit: { url: "ws://sfu.invalid", token: `token-${connection.seq}` },
        });
        for (const other of others) {
          this.deliver(other, { type: "member-joined", member: this.memberOf(connection) });
        }
        return;
      }
      case "send":
        for (const item of message.messages) {
          const to = this.members().find((m) => m.participantId === item.to);
          const replayed = this.replayed.get(item.to);
          if (to) {
            this.deliver(to, {
              type: "message",
              from: connection.participantId,
              payload: item.payload,
            });
          } else if (replayed && connection.participantId) {
            this.collectedForReplayed.push({
              from: connection.participantId,
              to: item.to,
              payload: item.payload,
            });
          } else {
            this.deliver(connection, {
              type: "error",
              code: "unknown_recipient",
              message: "no such member",
            });
          }
        }
        return;
      case "broadcast":
        for (const other of this.members()) {
          if (other === connection) continue;
          this.deliver(other, {
            type: "broadcast",
            from: connection.participantId,
            payload: message.payload,
          });
        }
        return;
      case "token":
        this.deliver(connection, {
          type: "token",
          livekit: { url: "ws://sfu.invalid", token: `token-${connection.seq}-again` },
        });
        return;
      case "leave":
        this.serverClose(connection, 1000);
        return;
    }
  }

  private serverClose(connection: Connection, code: number): void {
    connection.socket.readyState = CLOSED;
    this.close(connection, code);
  }

  private memberOf(connection: Connection) {
    return {
      participantId: connection.participantId,
      seq: connection.seq,
      announcement: connection.announcement,
    };
  }

  /** Sends a server frame down to a client through the (possibly hostile) network. */
  deliver(connection: Connection, original: ServerFrame): void {
    let frame = original;
    for (const rule of this.rules) {
      const verdict = rule(connection, frame);
      if (verdict === "drop") return;
      if (verdict === "hold") {
        this.held.push({ to: connection, frame });
        return;
      }
      if (verdict !== undefined) frame = verdict;
    }
    this.transmit(connection, frame);
  }

  /** The network part of deliver, after the tamper rules. */
  private transmit(connection: Connection, frame: ServerFrame): void {
    const opaque = frame.type === "message" || frame.type === "broadcast";
    const faults = this.faults;
    if (opaque) {
      this.recorded.push({ to: connection, frame });
      if (this.recorded.length > 400) this.recorded.splice(0, 100);
      if (this.random.float() < faults.dropRate) return;
      if (this.random.float() < faults.replayRate) this.scheduleReplay();
    }
    const copies = opaque && this.random.float() < faults.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay =
        faults.minDelayMs + this.random.int(Math.max(1, faults.maxDelayMs - faults.minDelayMs + 1));
      // Membership notices stay in order even on a hostile relay: the properties are about keys.
      const fifo = !faults.reorder || !opaque;
      const at = fifo
        ? Math.max(connection.lastDownAt, this.clock.now() + delay)
        : this.clock.now() + delay;
      if (fifo) connection.lastDownAt = at;
      this.inFlight += 1;
      this.clock.setTimeout(() => {
        this.inFlight -= 1;
        this.dispatch(connection, frame);
      }, at - this.clock.now());
    }
  }

  /** Hands a frame to the client now (also used for injected frames). */
  dispatch(connection: Connection, frame: ServerFrame): void {
    if (!connection.open || connection.socket.readyState !== OPEN) return;
    this.hooks.delivering(connection, frame);
    try {
      connection.socket.dispatch("message", { data: JSON.stringify(frame) });
    } catch (error) {
      // A browser's event loop logs an exception in a handler and goes on: so does the simulator,
      // so a property can observe what the session does next (its timers, its keys).
      this.hooks.threw(connection, error);
    }
    this.hooks.delivered(connection, frame);
  }

  /** The relay stops lying: rules and stalls go, faults off, held frames are delivered in order. */
  heal(): void {
    this.rules = [];
    this.stalledJoins.clear();
    this.faults = HONEST;
    for (const { to, frame } of this.held.splice(0)) this.transmit(to, frame);
  }

  /**
   * The server replays a recorded announcement as a member joining now, to `targets` (default: every
   * member), with the seq it chooses (a low one makes the recording everyone's leader).
   */
  replayAnnouncement(
    from: Admission,
    seq: number,
    targets?: readonly Connection[],
  ): ReplayedMember {
    const replayed: ReplayedMember = {
      participantId: from.participantId,
      seq,
      announcement: from.announcement,
      from,
    };
    this.replayed.set(from.participantId, replayed);
    for (const member of targets ?? this.members()) {
      if (member.participantId === from.participantId) continue;
      this.deliver(member, {
        type: "member-joined",
        member: { participantId: replayed.participantId, seq, announcement: replayed.announcement },
      });
    }
    return replayed;
  }

  /** The recording "leaves" again (so a run can end with an honest room). */
  retireReplayed(participantId: string): void {
    const replayed = this.replayed.get(participantId);
    if (!replayed) return;
    this.replayed.delete(participantId);
    for (const member of this.members()) {
      if (member.participantId === participantId) continue;
      this.deliver(member, { type: "member-left", participantId, seq: replayed.seq });
    }
  }

  private scheduleReplay(): void {
    const old = this.recorded[this.random.int(this.recorded.length)];
    const members = this.members();
    const target = members[this.random.int(members.length)];
    if (!old || !target) return;
    this.clock.setTimeout(() => this.dispatch(target, old.frame), 50 + this.random.int(3_000));
  }
}
