// The ask-to-join tests' shared set-up (admission.test.ts, admission-call.test.ts and
// admission-redteam.test.ts): Admission objects for the unit tests, under a host key drawn from a
// seed, and calls of real CallSessions over the simulator in test/core/sim, with the helpers that
// read them and the lies a relay tells them.
import { ed25519 } from "@noble/curves/ed25519.js";
import { Admission, type MemberKeyPair } from "../../web/src/core/admission.js";
import { fromBase64url } from "../../web/src/core/base64url.js";
import type { Random } from "../../web/src/core/random.js";
import type { ServerFrame } from "./sim/relay.js";
import { seededRandom } from "./sim/seeded-random.js";
import { type SimClient, World } from "./sim/world.js";

/** A member key pair drawn from `random` (a seeded one, so the same seed gives the same keys). */
export function keyPair(random: Random): MemberKeyPair {
  const { secretKey, publicKey } = ed25519.keygen(random(32));
  return { secretKey, publicKey };
}

// ---- unit harness: Admission objects ----

/**
 * Devices of one call in `roomId`, its host key the first drawn from `seededRandom(seed)`. Draw
 * the other members' keys from `random` after it, in a fixed order, so they never change.
 */
export function unitHarness(seed: number, roomId: string) {
  const random = seededRandom(seed);
  const host = keyPair(random);

  function deviceOf(member: MemberKeyPair, stored?: Uint8Array): Admission {
    return new Admission({
      roomId,
      hostKey: host.publicKey,
      member,
      ...(stored ? { stored } : {}),
    });
  }

  /** What `member`'s device holds after offering it every state in `states`, in order. */
  function memberAfter(states: readonly Uint8Array[], member: MemberKeyPair): Admission {
    const device = deviceOf(member);
    for (const bytes of states) device.offer(bytes);
    return device;
  }

  return { random, host, deviceOf, memberAfter };
}

export function stateOf(device: Admission): Uint8Array {
  const bytes = device.stateBytes;
  if (!bytes) throw new Error("no state held");
  return bytes;
}

// ---- simulator harness: calls over the World ----

export interface AskCall {
  readonly world: World;
  readonly hostKey: MemberKeyPair;
  readonly host: SimClient;
  /**
   * Adds a participant with its own member key (or the one given: the same device again), on the
   * device of `sameUserAs` if given, starting from `storedState` if given (a reload).
   */
  join(memberKey?: MemberKeyPair, sameUserAs?: SimClient, storedState?: Uint8Array): SimClient;
  keyOf(client: SimClient): MemberKeyPair;
}

/** An ask-to-join call in a World from `seed`, its host joined and settled. */
export function askCall(seed: number): AskCall {
  const world = new World({ seed });
  const hostKey = keyPair(world.random);
  const keys = new Map<SimClient, MemberKeyPair>();
  const join = (
    memberKey = keyPair(world.random),
    sameUserAs?: SimClient,
    storedState?: Uint8Array,
  ) => {
    const client = world.addClient(undefined, sameUserAs, {
      admission: {
        hostKey: hostKey.publicKey,
        memberKey,
        ...(storedState ? { storedState } : {}),
      },
    });
    keys.set(client, memberKey);
    return client;
  };
  const host = join(hostKey);
  world.run(1_000);
  return {
    world,
    hostKey,
    host,
    join,
    keyOf: (client) => {
      const key = keys.get(client);
      if (!key) throw new Error("not in this call");
      return key;
    },
  };
}

export function idOf(client: SimClient): string {
  return client.session.participantId;
}

export function rosterIds(client: SimClient): string[] {
  return client.session
    .snapshot()
    .roster.map((entry) => entry.participantId)
    .sort();
}

/** The display names on a client's roster, its own included. */
export function namesSeenBy(client: SimClient): string[] {
  return client.session
    .snapshot()
    .roster.map((entry) => entry.displayName)
    .sort();
}

export function statusOf(client: SimClient): string | undefined {
  return client.session.snapshot().admission?.status;
}

/** The membership state a client's session holds. */
export function heldState(client: SimClient): Uint8Array {
  const text = client.session.snapshot().admission?.stateBytes;
  if (!text) throw new Error("no state held");
  return fromBase64url(text);
}

/** The keys `client` ever held, read from the world's record of its incarnation. */
export function incarnationOf(client: SimClient) {
  const incarnation = client.current;
  if (!incarnation) throw new Error("never admitted by the room");
  return incarnation;
}

/** Every payload of a membership broadcast the host has sent so far. */
export function recordStates(world: World): string[] {
  const states: string[] = [];
  world.sentListeners.push((_client, _connection, data) => {
    const frame = JSON.parse(data) as { type: string; payload?: string };
    if (frame.type === "broadcast" && frame.payload && fromBase64url(frame.payload)[0] === 0x4d)
      states.push(frame.payload);
  });
  return states;
}

/** Hands `to` a broadcast from `from`, as the relay would (or a relay that lies). */
export function inject(world: World, to: SimClient, from: SimClient, payload: string): void {
  const connection = to.current?.connection;
  if (!connection) throw new Error("not connected");
  world.relay.dispatch(connection, { type: "broadcast", from: idOf(from), payload });
}

export function isMembership(frame: ServerFrame): boolean {
  return (
    frame.type === "broadcast" &&
    typeof frame.payload === "string" &&
    fromBase64url(frame.payload)[0] === 0x4d
  );
}

/** Whether `holder` (an incarnation that kept every key) can read what `client` sends now. */
export function reads(world: World, holder: SimClient["current"], client: SimClient): boolean {
  const key = client.installed.get(client.sending);
  return !!holder && client.sending !== 0 && !!key && world.canDerive(holder, client.sending, key);
}
