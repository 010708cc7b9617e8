// A stand-in for the Room Durable Object in unit tests: it keeps sockets' states and the stored
// counter in memory and applies each Outcome of the pure rules the way the shell does (attachment,
// counter, deliveries, close, forget), recording what every socket received.
import type { RoomConfig } from "../../worker/src/room-config";
import type { Member, ServerMessage } from "../../protocol/signalling";
import {
  type Delivery,
  FIRST_SEQ,
  newSocket,
  type Outcome,
  onDisconnect,
  onFrame,
} from "../../worker/src/room";
import type { SocketState } from "../../worker/src/socket-state";
import { opaque, randomId } from "../support/ids";

const ROOM = randomId();

/** Stands in for the Durable Object: sockets by name, the stored counter, what each one got. */
export class RoomDriver {
  constructor(private readonly config: RoomConfig) {}

  sockets = new Map<string, SocketState>();
  inbox = new Map<string, ServerMessage[]>();
  closes = new Map<string, number>();
  nextSeq: number | undefined = undefined;
  forgotten = 0;
  now = 0;

  connect(name: string): void {
    this.sockets.set(name, newSocket(ROOM, this.config, this.now));
    this.inbox.set(name, []);
  }

  private view() {
    const joined: Member[] = [];
    for (const state of this.sockets.values())
      if (state.phase === "joined")
        joined.push({
          participantId: state.participantId,
          seq: state.seq,
          announcement: state.announcement,
        });
    joined.sort((a, b) => a.seq - b.seq);
    const members = new Map(joined.map((member) => [member.participantId, member]));
    return { members, nextSeq: this.nextSeq ?? FIRST_SEQ };
  }

  private nameOf(participantId: string): string {
    for (const [name, state] of this.sockets)
      if (state.phase === "joined" && state.participantId === participantId) return name;
    throw new Error(`no socket for ${participantId}`);
  }

  private apply(name: string, outcome: Outcome): Outcome {
    const before = this.view().nextSeq;
    this.sockets.set(name, outcome.socket);
    if (outcome.nextSeq !== before) this.nextSeq = outcome.nextSeq;
    for (const delivery of outcome.deliveries) this.deliver(name, outcome.socket, delivery);
    if (outcome.close) this.closes.set(name, outcome.close.code);
    if (outcome.forget) {
      this.nextSeq = undefined;
      this.forgotten++;
    }
    return outcome;
  }

  private deliver(name: string, self: SocketState, delivery: Delivery): void {
    const grant = { url: "ws://sfu", token: "t" };
    const target =
      delivery.kind === "message" && delivery.to !== "self"
        ? this.nameOf(delivery.to.participantId)
        : name;
    const message: ServerMessage =
      delivery.kind === "message"
        ? delivery.message
        : delivery.kind === "welcome"
          ? {
              type: "welcome",
              v: 1,
              self: delivery.self,
              members: delivery.members,
              livekit: grant,
            }
          : { type: "token", livekit: grant };
    if (self.phase === "closed" && delivery.kind !== "message") throw new Error("grant to closed");
    this.inbox.get(target)?.push(message);
  }

  frame(name: string, frame: unknown): Outcome {
    const socket = this.sockets.get(name);
    if (!socket) throw new Error(`unknown socket ${name}`);
    const data =
      typeof frame === "string" || frame instanceof ArrayBuffer ? frame : JSON.stringify(frame);
    return this.apply(name, onFrame(this.view(), socket, data, this.config, this.now));
  }

  disconnect(name: string): Outcome {
    const socket = this.sockets.get(name);
    if (!socket) throw new Error(`unknown socket ${name}`);
    const outcome = this.apply(name, onDisconnect(this.view(), socket));
    this.sockets.delete(name);
    return outcome;
  }

  take(name: string): ServerMessage[] {
    const messages = this.inbox.get(name) ?? [];
    this.inbox.set(name, []);
    return messages;
  }

  join(name: string, participantId = randomId(), announcement = opaque(8)): string {
    this.connect(name);
    this.frame(name, { type: "join", v: 1, participantId, announcement });
    return participantId;
  }
}
