// The signalling client (docs/protocol.md) against a scripted socket on the virtual clock: unknown
// and malformed server frames are ignored, dropped sockets reconnect with backoff and a fresh join,
// fatal refusals stop it, leave is final.
import { describe, expect, it } from "vitest";
import {
  type ConnectionStatus,
  DEFAULT_RECONNECT_POLICY,
  type ReconnectPolicy,
  SignallingClient,
  type SignallingHandlers,
} from "../../web/src/core/signalling-client.js";
import { FakeSocket, SOCKET_STATE } from "../support/fake-socket.js";
import { VirtualClock } from "./sim/virtual-clock.js";

/** A socket the test plays the server of: it opens, answers and closes when told. */
class ScriptedSocket extends FakeSocket {
  static made: ScriptedSocket[] = [];
  readonly sent: unknown[] = [];
  constructor(readonly url: string) {
    super();
    ScriptedSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000): void {
    if (this.readyState === SOCKET_STATE.closed) return;
    this.serverClose(code);
  }
  open(): void {
    this.readyState = SOCKET_STATE.open;
    this.dispatch("open", {});
  }
  receive(frame: unknown): void {
    this.dispatch("message", { data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  serverClose(code: number): void {
    this.readyState = SOCKET_STATE.closed;
    this.dispatch("close", { code, reason: "" });
  }
}

const SELF = "selfselfselfselfselfse";
const welcome = (seq: number) => ({
  type: "welcome",
  v: 1,
  self: { participantId: SELF, seq },
  members: [],
  livekit: { url: "ws://sfu", token: "t" },
});

function setup(policy?: ReconnectPolicy) {
  ScriptedSocket.made = [];
  const clock = new VirtualClock();
  const log: string[] = [];
  const statuses: ConnectionStatus[] = [];
  let joins = 0;
  const handlers: SignallingHandlers = {
    joinRequest: () => ({ participantId: SELF, announcement: `announcement${++joins}` }),
    welcome: (w) => log.push(`welcome ${w.self.seq}`) > 0,
    memberJoined: (m) => log.push(`joined ${m.seq}`),
    memberLeft: (_, seq) => log.push(`left ${seq}`),
    message: (from) => log.push(`message ${from}`),
    broadcast: (from) => log.push(`broadcast ${from}`),
    token: (grant) => log.push(`token ${grant.token}`),
    serverError: (error) => log.push(`error ${error.code}`),
    status: (status) => statuses.push(status),
    lost: () => log.push("lost"),
  };
  const client = new SignallingClient(
    "ws://x/v1/rooms/r/ws",
    ScriptedSocket,
    clock,
    handlers,
    ...(policy ? [policy] : []),
  );
  return { clock, client, log, statuses, socket: (i: number) => ScriptedSocket.made[i] };
}

describe("SignallingClient", () => {
  it("joins, ignores unknown and malformed frames, and parses the known ones", () => {
    const { client, log, socket } = setup();
    client.connect();
    socket(0)?.open();
    expect(socket(0)?.sent).toEqual([
      { type: "join", v: 1, participantId: SELF, announcement: "announcement1" },
    ]);
    socket(0)?.receive(welcome(3));
    socket(0)?.receive({ type: "future-feature", anything: 1 });
    socket(0)?.receive("not json");
    socket(0)?.receive({ type: "member-joined", member: { participantId: "short" } });
    socket(0)?.receive({ type: "message", from: "fromfromfromfromfromfr", payload: "AAAA" });
    socket(0)?.receive({ type: "error", code: "rate_limited", message: "slow down" });
    expect(log).toEqual(["welcome 3", "message fromfromfromfromfromfr", "error rate_limited"]);
    expect(client.connectionStatus).toBe("joined");
  });

  it("reconnects after a dropped socket with backoff and a fresh join", () => {
    const { clock, client, log, statuses, socket } = setup();
    client.connect();
    socket(0)?.open();
    socket(0)?.receive(welcome(1));
    socket(0)?.serverClose(1006);
    expect(log).toEqual(["welcome 1", "lost"]);
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(ScriptedSocket.made).toHaveLength(1);
    clock.runUntil(249);
    expect(ScriptedSocket.made).toHaveLength(1);
    clock.runUntil(250);
    expect(ScriptedSocket.made).toHaveLength(2);
    // The room has not noticed the old socket yet: a duplicate after a drop is retried.
    socket(1)?.open();
    socket(1)?.serverClose(4409);
    clock.runUntil(250 + 500);
    expect(ScriptedSocket.made).toHaveLength(3);
    socket(2)?.open();
    expect(socket(2)?.sent).toEqual([
      { type: "join", v: 1, participantId: SELF, announcement: "announcement3" },
    ]);
    socket(2)?.receive(welcome(7));
    expect(client.connectionStatus).toBe("joined");
  });

  it.each([
    [4429, "room full"],
    [4400, "unsupported version"],
    [4409, "duplicate participant on the first join"],
  ])("stops for good on close code %i (%s)", (code) => {
    const { clock, client, statuses, socket } = setup();
    client.connect();
    socket(0)?.open();
    socket(0)?.serverClose(code);
    clock.runUntil(60_000);
    expect(ScriptedSocket.made).toHaveLength(1);
    expect(statuses.at(-1)).toBe("closed");
  });

  it("gives up after maxAttempts consecutive failures", () => {
    const { clock, client, statuses } = setup();
    client.connect();
    for (let i = 0; i < 20; i++) {
      ScriptedSocket.made.at(-1)?.serverClose(1006);
      clock.runUntil(clock.now() + 10_000);
    }
    expect(ScriptedSocket.made).toHaveLength(13); // first try + 12 retries
    expect(statuses.at(-1)).toBe("closed");
  });

  it("with firstJoinMaxAttempts, gives up sooner before its first welcome than after a drop", () => {
    const policy = {
      ...DEFAULT_RECONNECT_POLICY,
      maxDelayMs: 1_000,
      maxAttempts: 6,
      firstJoinMaxAttempts: 2,
    };
    const failAll = (clock: VirtualClock) => {
      for (let i = 0; i < 20; i++) {
        ScriptedSocket.made.at(-1)?.serverClose(1006);
        clock.runUntil(clock.now() + 10_000);
      }
    };
    const never = setup(policy);
    never.client.connect();
    failAll(never.clock);
    expect(ScriptedSocket.made).toHaveLength(3); // first try + 2 retries
    expect(never.statuses.at(-1)).toBe("closed");

    const joined = setup(policy);
    joined.client.connect();
    joined.socket(0)?.open();
    joined.socket(0)?.receive(welcome(1));
    failAll(joined.clock);
    expect(ScriptedSocket.made).toHaveLength(7); // the joined socket + 6 retries
    expect(joined.statuses.at(-1)).toBe("closed");
  });

  it("leave sends leave, closes and never reconnects", () => {
    const { clock, client, log, socket } = setup();
    client.connect();
    socket(0)?.open();
    socket(0)?.receive(welcome(1));
    client.leave();
    clock.runUntil(60_000);
    expect(socket(0)?.sent.at(-1)).toEqual({ type: "leave" });
    expect(ScriptedSocket.made).toHaveLength(1);
    expect(client.connectionStatus).toBe("closed");
    expect(log).toEqual(["welcome 1", "lost"]);
    expect(client.send([{ to: SELF, payload: "AA" }])).toBe(false);
  });

  it("a join the room never answers times out and counts as a failed attempt", () => {
    const { clock, client, statuses, socket } = setup();
    client.connect();
    socket(0)?.open(); // the socket opens, the join goes out, no welcome ever comes
    clock.runUntil(9_999);
    expect(ScriptedSocket.made).toHaveLength(1);
    clock.runUntil(10_000);
    expect(socket(0)?.readyState).toBe(3);
    expect(statuses.at(-1)).toBe("connecting");
    // Every attempt gets the same deadline, and the attempts are bounded.
    for (let i = 0; i < 30; i++) {
      ScriptedSocket.made.at(-1)?.open();
      clock.runUntil(clock.now() + 16_000);
    }
    expect(ScriptedSocket.made).toHaveLength(13);
    expect(statuses.at(-1)).toBe("closed");
    expect(client.connectionStatus).toBe("closed");
  });

  it("a refused welcome counts as a failed attempt and is never reported as joined", () => {
    ScriptedSocket.made = [];
    const clock = new VirtualClock();
    const statuses: ConnectionStatus[] = [];
    let welcomes = 0;
    const client = new SignallingClient("ws://x/v1/rooms/r/ws", ScriptedSocket, clock, {
      joinRequest: () => ({ participantId: SELF, announcement: "a" }),
      welcome: () => {
        welcomes += 1;
        return false;
      },
      memberJoined: () => {},
      memberLeft: () => {},
      message: () => {},
      broadcast: () => {},
      token: () => {},
      serverError: () => {},
      status: (status) => statuses.push(status),
      lost: () => {},
    });
    client.connect();
    for (let i = 0; i < 30; i++) {
      const socket = ScriptedSocket.made.at(-1);
      socket?.open();
      socket?.receive(welcome(i + 1));
      clock.runUntil(clock.now() + 6_000);
    }
    expect(welcomes).toBe(13);
    expect(statuses).not.toContain("joined");
    expect(client.connectionStatus).toBe("closed");
  });

  it("a handler that throws leaves the socket usable for the next frame", () => {
    ScriptedSocket.made = [];
    const clock = new VirtualClock();
    const seen: string[] = [];
    const client = new SignallingClient("ws://x/v1/rooms/r/ws", ScriptedSocket, clock, {
      joinRequest: () => ({ participantId: SELF, announcement: "a" }),
      welcome: () => true,
      memberJoined: () => {},
      memberLeft: () => {},
      message: (from) => {
        seen.push(from);
        throw new Error("handler bug");
      },
      broadcast: () => {},
      token: () => {},
      serverError: () => {},
      status: () => {},
      lost: () => {},
    });
    client.connect();
    const socket = ScriptedSocket.made[0];
    socket?.open();
    socket?.receive(welcome(1));
    socket?.receive({ type: "message", from: "fromfromfromfromfromfr", payload: "AAAA" });
    socket?.receive({ type: "message", from: "fromfromfromfromfromf2", payload: "AAAA" });
    expect(seen).toEqual(["fromfromfromfromfromfr", "fromfromfromfromfromf2"]);
    expect(client.connectionStatus).toBe("joined");
  });
});
