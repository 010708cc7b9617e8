// The network and the hostile server in front of the simulator's room (the Worker's own rules, in
// test/support/room-shell.ts). The room decides admission, seq, relaying and leaves; the relay
// around it is hostile on request: it can drop, delay, duplicate, reorder, replay and inject
// envelopes and broadcasts, forge announcements (ghosts) and drop sockets. It also lies about
// membership (issue 9): tamper rules withhold or hold any frame for chosen members (a leave hidden
// from the leader, split views, a fresh key withheld), joins can be stalled (never reach the room),
// and announcements recorded in this or an earlier room life can be replayed.

import type { SocketConstructor } from "../../../web/src/core/signalling-client.js";
import { ClientMessage, HEARTBEAT, type Member } from "../../../protocol/signalling.js";
import type { SocketState } from "../../../worker/src/socket-state.js";
import { FakeSocket, SOCKET_STATE } from "../../support/fake-socket.js";
import { type RoomSocket, RoomShell } from "../../support/room-shell.js";
import { SIM_ROOM_CONFIG } from "./room-config.js";
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

/** A client's socket: what it sends goes up through the relay, which also closes it. */
export class SimSocket extends FakeSocket {
  sent = 0;

  constructor(
    private readonly relay: Relay,
    readonly client: number,
  ) {
    super();
  }

  send(data: string): void {
    if (this.readyState !== SOCKET_STATE.open) throw new Error("send on a socket that is not open");
    this.sent += 1;
    this.relay.fromClient(this, data);
  }

  close(code = 1000): void {
    if (this.readyState === SOCKET_STATE.closed) return;
    this.readyState = SOCKET_STATE.closed;
    this.relay.clientClosed(this, code);
  }
}

/** One socket as the relay and the room see it; the member fields stay after it leaves. */
export class Connection implements RoomSocket {
  participantId?: string;
  seq?: number;
  announcement?: string;
  /** The transport is up (neither end has closed it). */
  open = true;
  lastDownAt = 0;
  lastUpAt = 0;
  lastPingAt: number | null = null;

  constructor(
    readonly id: number,
    readonly socket: SimSocket,
    public state: SocketState,
  ) {}

  /** An admitted member of the room right now. */
  get joined(): boolean {
    return this.state.phase === "joined";
  }
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
  /** Joins from these participant ids are swallowed: they never reach the room, never answered. */
  readonly stalledJoins = new Set<string>();
  /** Join frames that were swallowed (the client waits for a welcome that never comes). */
  stalledJoinCount = 0;
  readonly admissions: Admission[] = [];
  /** Recordings currently replayed as members, by participant id. */
  readonly replayed = new Map<string, ReplayedMember>();
  /** Envelopes clients addressed to a replayed recording (the server keeps them for its accomplice). */
  readonly collectedForReplayed: { from: string; to: string; payload: string }[] = [];
  private nextConnection = 1;
  readonly connections: Connection[] = [];
  readonly recorded: Recorded[] = [];
  /** Frames scheduled but not yet handled (both directions), so checks can wait for quiet. */
  inFlight = 0;
  private readonly room: RoomShell<Connection>;

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: { float(): number; int(n: number): number },
    private readonly hooks: RelayHooks,
  ) {
    this.room = new RoomShell(SIM_ROOM_CONFIG, () => clock.now(), {
      admitted: (connection, member) => this.admitted(connection, member),
      removed: (connection) => hooks.removed(connection),
      send: (connection, message) => this.deliver(connection, message),
      close: (connection, code) => this.serverClose(connection, code),
    });
  }

  /**
   * Room life (1, 2, ...): docs/protocol.md, Lifecycle guarantees: when the last member leaves the
   * room forgets everything, and seq restarts.
   */
  get life(): number {
    return this.room.life;
  }

  /** The WebSocket constructor a simulated client gets: every socket it opens is tagged with it. */
  socketClassFor(client: number): SocketConstructor {
    const relay = this;
    return class extends SimSocket {
      constructor(url: string) {
        super(relay, client);
        relay.accept(this, url);
      }
    };
  }

  /** The room's members, in the order their sockets connected. */
  members(): Connection[] {
    return this.connections.filter((c) => c.joined);
  }

  private accept(socket: SimSocket, url: string): void {
    const roomId = /\/rooms\/([^/]+)\//.exec(url)?.[1] ?? "sim";
    const connection = new Connection(this.nextConnection++, socket, this.room.accept(roomId));
    this.connections.push(connection);
    this.watch(connection);
    this.clock.setTimeout(() => {
      if (!connection.open) return;
      socket.readyState = SOCKET_STATE.open;
      socket.dispatch("open", {});
    }, 1 + this.random.int(5));
  }

  /** The object's alarm for one socket: the room's join deadline and heartbeat timeout. */
  private watch(connection: Connection): void {
    if (!connection.open) return;
    const due = this.room.checkLiveness(connection);
    if (due === null) return;
    this.clock.setTimeout(() => this.watch(connection), Math.max(1, due - this.clock.now()));
  }

  private admitted(connection: Connection, member: Member): void {
    connection.participantId = member.participantId;
    connection.seq = member.seq;
    connection.announcement = member.announcement;
    this.admissions.push({ ...member, life: this.room.life, connectionId: connection.id });
    this.hooks.admitted(connection);
  }

  private connectionOf(socket: SimSocket): Connection | undefined {
    return this.connections.find((c) => c.socket === socket);
  }

  fromClient(socket: SimSocket, data: string): void {
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

  clientClosed(socket: SimSocket, code: number): void {
    const connection = this.connectionOf(socket);
    if (!connection) return;
    this.clock.setTimeout(() => this.close(connection, code), 1 + this.random.int(5));
  }

  /** The network drops a client's connection (both ends see it close). */
  dropConnection(connection: Connection): void {
    if (!connection.open) return;
    connection.socket.readyState = SOCKET_STATE.closed;
    this.close(connection, 1006);
  }

  /** The transport closed under the room: for the room a disconnect, for the client a close event. */
  private close(connection: Connection, code: number): void {
    if (!connection.open) return;
    connection.open = false;
    this.room.disconnect(connection);
    this.clock.setTimeout(
      () => connection.socket.dispatch("close", { code, reason: "" }),
      1 + this.random.int(5),
    );
  }

  /**
   * The room closed the socket (a leave, a refusal, a kick) and has done its bookkeeping. As with a
   * real WebSocket, what the room sent before reaches the client first, then the close.
   */
  private serverClose(connection: Connection, code: number): void {
    if (!connection.open) return;
    connection.open = false;
    const at = Math.max(connection.lastDownAt, this.clock.now() + 1 + this.random.int(5));
    connection.lastDownAt = at;
    this.clock.setTimeout(() => {
      connection.socket.readyState = SOCKET_STATE.closed;
      connection.socket.dispatch("close", { code, reason: "" });
    }, at - this.clock.now());
  }

  /** One frame arrives at the server: the runtime answers pings, the hostile part may intercept. */
  private handle(connection: Connection, data: string): void {
    if (data === HEARTBEAT.ping) {
      this.room.pinged(connection);
      this.deliver(connection, JSON.parse(HEARTBEAT.pong) as ServerFrame);
      return;
    }
    const frame = this.intercept(connection, data);
    if (frame !== null) this.room.frame(connection, frame);
  }

  /**
   * What the hostile server does with a frame before its room sees it: swallows stalled joins, and
   * keeps envelopes addressed to a recording it replays as a member (the room would refuse them,
   * which would give the lie away). Returns the frame the room gets, or null.
   */
  private intercept(connection: Connection, data: string): string | null {
    if (this.stalledJoins.size === 0 && this.replayed.size === 0) return data;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return data;
    }
    const parsed = ClientMessage.safeParse(json);
    if (!parsed.success) return data;
    const message = parsed.data;
    if (
      message.type === "join" &&
      !connection.joined &&
      this.stalledJoins.has(message.participantId)
    ) {
      this.stalledJoinCount += 1;
      return null;
    }
    if (message.type !== "send" || !connection.participantId || !connection.joined) return data;
    const live = new Set(this.members().map((m) => m.participantId));
    const kept = message.messages.filter((item) => {
      if (live.has(item.to) || !this.replayed.has(item.to)) return true;
      this.collectedForReplayed.push({
        from: connection.participantId ?? "",
        to: item.to,
        payload: item.payload,
      });
      return false;
    });
    if (kept.length === message.messages.length) return data;
    return kept.length === 0 ? null : JSON.stringify({ type: "send", messages: kept });
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
    if (connection.socket.readyState !== SOCKET_STATE.open) return;
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
