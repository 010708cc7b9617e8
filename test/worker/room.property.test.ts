// Property tests of the pure room rules: random runs of joins, duplicate joins, leaves, drops,
// unicasts and broadcasts, checked against the guarantees of docs/protocol.md ("Lifecycle
// guarantees").
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, type ServerMessage } from "../../protocol/signalling";
import { RoomDriver, testRoomConfig } from "./room-driver";

const config = testRoomConfig({ capacity: 4, burst: 10_000 });
const NAMES = ["n0", "n1", "n2", "n3", "n4", "n5"] as const;

type Command =
  | { kind: "join"; who: number }
  | { kind: "duplicate"; who: number }
  | { kind: "leave"; who: number }
  | { kind: "drop"; who: number }
  | { kind: "send"; who: number; to: number[] }
  | { kind: "broadcast"; who: number };

const who = fc.integer({ min: 0, max: NAMES.length - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("join" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), who }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      who,
      to: fc.array(who, { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("broadcast" as const), who }) },
);

/** Deterministic ids (22 base64url characters) so that shrinking replays the same run. */
const idOf = (name: string, incarnation: number) => `${name}x${incarnation}`.padEnd(22, "A");

/** Runs the commands and checks every guarantee on the way and at the end. */
function run(commands: Command[]): void {
  const room = new RoomDriver(config);
  const incarnation = new Map<string, number>();
  /** The current participant id of each joined name. */
  const joined = new Map<string, string>();
  /** Every member's view of the roster, rebuilt only from what it received. */
  const rosters = new Map<string, Set<string>>();
  const lastSeqSeen = new Map<string, number>();
  let lastSeqAssigned = 0;
  /** Per sender→recipient pair, the payloads in the order sent to a present recipient. */
  const expected = new Map<string, string[]>();
  const received = new Map<string, string[]>();
  let counter = 0;

  const absorb = (name: string) => {
    for (const message of room.take(name)) apply(name, message);
  };
  const apply = (name: string, message: ServerMessage) => {
    const roster = rosters.get(name);
    switch (message.type) {
      case "welcome": {
        expect(message.self.seq).toBeGreaterThan(lastSeqAssigned);
        lastSeqAssigned = message.self.seq;
        rosters.set(name, new Set(message.members.map((m) => m.participantId)));
        lastSeqSeen.set(name, message.self.seq);
        return;
      }
      case "member-joined": {
        // Joins reach every member in the order of their seq.
        expect(message.member.seq).toBeGreaterThan(lastSeqSeen.get(name) ?? 0);
        lastSeqSeen.set(name, message.member.seq);
        expect(roster?.has(message.member.participantId)).toBe(false);
        roster?.add(message.member.participantId);
        return;
      }
      case "member-left":
        expect(roster?.delete(message.participantId)).toBe(true);
        return;
      case "message": {
        const key = `${message.from}>${joined.get(name)}`;
        received.set(key, [...(received.get(key) ?? []), message.payload]);
        return;
      }
      case "broadcast":
        expect(roster?.has(message.from)).toBe(true);
        return;
      case "token":
      case "error":
        return;
    }
  };
  const gone = (name: string) => {
    joined.delete(name);
    rosters.delete(name);
    lastSeqSeen.delete(name);
  };

  for (const step of commands) {
    const name = NAMES[step.who] as string;
    switch (step.kind) {
      case "join": {
        if (room.sockets.has(name)) break;
        const n = (incarnation.get(name) ?? 0) + 1;
        incarnation.set(name, n);
        const id = idOf(name, n);
        const full = joined.size >= config.capacity;
        room.join(name, id);
        if (full) {
          expect(room.take(name)).toMatchObject([{ type: "error", code: "room_full" }]);
          expect(room.closes.get(name)).toBe(CLOSE_CODES.room_full);
          room.sockets.delete(name);
        } else joined.set(name, id);
        break;
      }
      case "duplicate": {
        const target = joined.get(name);
        if (target === undefined) break;
        room.join("dup", target);
        expect(room.take("dup")).toMatchObject([{ type: "error", code: "duplicate_participant" }]);
        expect(room.closes.get("dup")).toBe(CLOSE_CODES.duplicate_participant);
        room.sockets.delete("dup");
        break;
      }
      case "leave":
        if (!joined.has(name)) break;
        room.frame(name, { type: "leave" });
        room.take(name);
        room.sockets.delete(name);
        gone(name);
        break;
      case "drop":
        if (!joined.has(name)) break;
        room.disconnect(name);
        room.take(name);
        gone(name);
        break;
      case "send": {
        const from = joined.get(name);
        if (from === undefined) break;
        const messages = step.to.map((index) => {
          const recipient = NAMES[index] as string;
          const to = joined.get(recipient) ?? idOf(recipient, 0);
          const payload = `p${counter++}`;
          if (joined.has(recipient)) {
            const key = `${from}>${to}`;
            expected.set(key, [...(expected.get(key) ?? []), payload]);
          }
          return { to, payload };
        });
        room.frame(name, { type: "send", messages });
        break;
      }
      case "broadcast":
        if (!joined.has(name)) break;
        room.frame(name, { type: "broadcast", payload: "YmM" });
        break;
    }
    for (const member of joined.keys()) absorb(member);
    // Every member's rebuilt roster is exactly the others present.
    for (const [member, id] of joined) {
      const others = [...joined.values()].filter((other) => other !== id).sort();
      expect([...(rosters.get(member) ?? [])].sort()).toEqual(others);
    }
    // Storage is forgotten exactly when nobody is left.
    if (joined.size === 0) expect(room.nextSeq).toBeUndefined();
    if (joined.size === 0) lastSeqAssigned = 0;
  }
  // Unicast: once and in order for every pair that stayed connected.
  for (const [key, payloads] of expected) {
    const [from, to] = key.split(">");
    const stillThere = [...joined.values()];
    if (stillThere.includes(from ?? "") && stillThere.includes(to ?? ""))
      expect(received.get(key)).toEqual(payloads);
  }
}

describe("room rules, randomized", () => {
  it("keep the lifecycle guarantees of docs/protocol.md over random runs", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        run(commands);
      }),
      { numRuns: 300 },
    );
  });
});
