// The simulator's room is the Worker's: raw sockets on an honest relay get what worker/src/room.ts
// decides (refusals with their codes, seq restarting when the room forgets, the join deadline), not
// what a stand-in would. Each case is one the simulator's earlier hand-written room got wrong.
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, LIMITS } from "../../protocol/signalling.js";
import { opaque, randomId } from "../support/ids.js";
import { Relay, type ServerFrame } from "./sim/relay.js";
import { SIM_ROOM_CONFIG } from "./sim/room-config.js";
import { seededRandom } from "./sim/seeded-random.js";
import { VirtualClock } from "./sim/virtual-clock.js";

function room() {
  const clock = new VirtualClock();
  const relay = new Relay(clock, seededRandom(1), {
    admitted: () => {},
    removed: () => {},
    delivering: () => {},
    delivered: () => {},
    sent: () => {},
    threw: (_, error) => {
      throw error;
    },
  });
  let clients = 0;
  /** A raw client: what it received, how it was closed. */
  const connect = () => {
    const Socket = relay.socketClassFor(clients++);
    const socket = new Socket(`ws://relay.invalid/v1/rooms/${randomId()}/ws`);
    const received: ServerFrame[] = [];
    const closes: number[] = [];
    socket.addEventListener("message", (event) => received.push(JSON.parse(String(event.data))));
    socket.addEventListener("close", (event) => closes.push(event.code));
    clock.runUntil(clock.now() + 10);
    const send = (frame: object) => {
      socket.send(JSON.stringify(frame));
      clock.runUntil(clock.now() + 100);
    };
    const join = (participantId = randomId(), announcement = opaque(32)) =>
      send({ type: "join", v: 1, participantId, announcement });
    return { socket, received, closes, send, join };
  };
  return { clock, relay, connect };
}

describe("the simulator's room runs the Worker's rules", () => {
  it("refuses an announcement over the protocol's limit", () => {
    const { connect } = room();
    const alice = connect();
    alice.join(randomId(), opaque(LIMITS.announcementBytes + 1));
    expect(alice.received.map((f) => [f.type, f.code])).toEqual([["error", "payload_too_large"]]);
  });

  it("refuses a second socket with a live member's id and closes it with 4409", () => {
    const { connect } = room();
    const id = randomId();
    connect().join(id);
    const copy = connect();
    copy.join(id);
    expect(copy.received.map((f) => f.code)).toEqual(["duplicate_participant"]);
    expect(copy.closes).toEqual([CLOSE_CODES.duplicate_participant]);
  });

  it("forgets everything when the last member leaves: a new life, seq from 1 again", () => {
    const { connect, relay } = room();
    const first = connect();
    first.join();
    connect().join();
    expect(relay.admissions.map((a) => [a.life, a.seq])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    for (const member of relay.members()) member.socket.close();
    const later = connect();
    later.join();
    expect(relay.life).toBe(2);
    expect(relay.admissions.at(-1)).toMatchObject({ life: 2, seq: 1 });
  });

  it("closes a socket that does not join within the join deadline with 4440", () => {
    const { connect, clock } = room();
    const idle = connect();
    clock.runUntil(clock.now() + SIM_ROOM_CONFIG.joinDeadlineMs + 10);
    expect(idle.received.map((f) => f.code)).toEqual(["not_joined"]);
    expect(idle.closes).toEqual([CLOSE_CODES.join_timeout]);
  });
});
