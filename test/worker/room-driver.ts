// A stand-in for the Room Durable Object in unit tests: sockets by name behind the shared room
// shell (test/support/room-shell.ts, which applies each Outcome of the pure rules the way the
// object does), recording what every socket received and how it was closed.
import type { ServerMessage } from "../../protocol/signalling";
import type { Outcome } from "../../worker/src/room";
import type { RoomConfig } from "../../worker/src/room-config";
import { opaque, randomId } from "../support/ids";
import { type RoomSocket, RoomShell } from "../support/room-shell";

const ROOM = randomId();

/**
 * Settings for driving the rules by hand: a small room, one frame a second refilled from a burst
 * (so a test can run a bucket dry), and byte budgets no test comes near.
 */
export function testRoomConfig(room: { capacity: number; burst: number }): RoomConfig {
  return {
    capacity: room.capacity,
    maxSockets: 100,
    rate: {
      perSecond: 1,
      burst: room.burst,
      strikes: 5,
      bytesPerSecond: 1_000_000_000,
      bytesBurst: 1_000_000_000,
    },
    recipient: { perSecond: 1_000_000_000, burst: 1_000_000_000 },
    joinDeadlineMs: 5_000,
    heartbeatTimeoutMs: 45_000,
  };
}

interface NamedSocket extends RoomSocket {
  readonly name: string;
}

/** Stands in for the Durable Object: sockets by name, the stored counter, what each one got. */
export class RoomDriver {
  sockets = new Map<string, NamedSocket>();
  inbox = new Map<string, ServerMessage[]>();
  closes = new Map<string, number>();
  now = 0;
  private readonly shell: RoomShell<NamedSocket>;

  constructor(config: RoomConfig) {
    this.shell = new RoomShell(config, () => this.now, {
      admitted: () => {},
      removed: () => {},
      send: (socket, message) => this.inbox.get(socket.name)?.push(message),
      close: (socket, code) => this.closes.set(socket.name, code),
    });
  }

  /** The counter the object keeps in storage: undefined before the first join and once forgotten. */
  get nextSeq(): number | undefined {
    return this.shell.storedSeq;
  }

  /** How often the room forgot everything (its last member left). */
  get forgotten(): number {
    return this.shell.life - 1;
  }

  connect(name: string): void {
    this.sockets.set(name, { name, state: this.shell.accept(ROOM), lastPingAt: null });
    this.inbox.set(name, []);
  }

  private socket(name: string): NamedSocket {
    const socket = this.sockets.get(name);
    if (!socket) throw new Error(`unknown socket ${name}`);
    return socket;
  }

  frame(name: string, frame: unknown): Outcome {
    const data =
      typeof frame === "string" || frame instanceof ArrayBuffer ? frame : JSON.stringify(frame);
    return this.shell.frame(this.socket(name), data);
  }

  disconnect(name: string): Outcome {
    const outcome = this.shell.disconnect(this.socket(name));
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
