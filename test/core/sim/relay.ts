// An in-memory stand-in for the Worker's room (shared/PROTOCOL.md) and the network in front of it,
// for the simulator. The room keeps PROTOCOL.md's membership rules honestly (admission, seq, join and
// leave notices in order); the relay around it is hostile on request: it can drop, delay, duplicate,
// reorder, replay and inject envelopes and broadcasts, forge announcements (ghosts) and drop sockets.

import type { SocketConstructor, SocketLike } from "../../../web/src/core/signalling-client.js";
import { ClientMessage } from "../../../worker/src/protocol.js";
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
}

export type ServerFrame = { type: string } & Record<string, unknown>;

interface Recorded {
  readonly to: Connection;
  readonly frame: ServerFrame;
}

export class Relay {
  faults: Faults = HONEST;
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
    for (const other of this.members()) {
      this.deliver(other, {
        type: "member-left",
        participantId: connection.participantId,
        seq: connection.seq,
      });
    }
  }

  private handle(connection: Connection, data: string): void {
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
          if (to) {
            this.deliver(to, {
              type: "message",
              from: connection.participantId,
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
  deliver(connection: Connection, frame: ServerFrame): void {
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
    connection.socket.dispatch("message", { data: JSON.stringify(frame) });
    this.hooks.delivered(connection, frame);
  }

  private scheduleReplay(): void {
    const old = this.recorded[this.random.int(this.recorded.length)];
    const members = this.members();
    const target = members[this.random.int(members.length)];
    if (!old || !target) return;
    this.clock.setTimeout(() => this.dispatch(target, old.frame), 50 + this.random.int(3_000));
  }
}
