// Adapter from the crypto core's CallSession to the app's SessionPort: the only file that knows the
// core's event names. It also owns the two random ids the core needs (docs/key-schedule.md,
// Derivations): a user id and a device id that never leave this browser (only their keyed hash, the
// participant id, does).
import {
  type AdmissionConfig,
  type CallSecret,
  CallSession,
  type CallSessionState,
  type ConnectionStatus,
  preferredSignatureVerifier,
  preferredSharedSecrets,
} from "../core";
import { assertNever } from "../../../protocol/guards";
import type { KeyState } from "../media/keyPlan";
import { storeMembershipState } from "./admissionKeys";
import type { CallConnection, SessionFailure, SessionPort, SessionSnapshot } from "./sessionPort";
import type { PageOptions } from "./settings";

const USER_ID_KEY = "hush.userId";
const DEVICE_ID_KEY = "hush.deviceId";
const ROTATIONS_KEPT = 32;
/**
 * One verifier for the page's sessions: the browser's native Ed25519 checks the leader's ratchets
 * and commits off the page's thread, and @noble/curves does where the browser has none.
 */
const signatures = preferredSignatureVerifier();
/** Likewise the envelope channels' X25519s: native where the browser has it, else @noble/curves. */
const sharedSecrets = preferredSharedSecrets();

/**
 * How the page's signalling retries after losing the Worker. The core's default doubles from 250 ms
 * to 5 s apart (attempts 0.25, 0.75, 1.75, 3.75, 7.75 s after the drop), so a Worker back after a
 * few seconds waited up to 4 s more for the next attempt (the recovery bench saw 0.1 to 2.7 s
 * between the Worker answering and every page joined). Here the attempts are at most 1 s apart, and
 * 50 of them outlast the room's 45 s liveness timeout, after which the room frees the stale id of a
 * silently dropped socket (4409 until then). Before the first welcome there is no such id, and
 * someone who cannot reach the Worker at all gets its screen after 12 attempts (about 11 s; the
 * browser's own failures make each one longer). One socket a second per member while the Worker is
 * down is a small load.
 */
const RECONNECT = {
  initialDelayMs: 250,
  maxDelayMs: 1_000,
  maxAttempts: 50,
  firstJoinMaxAttempts: 12,
} as const;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random id kept in this browser; a fresh one per page when storage is unavailable. */
function storedId(key: string): string {
  try {
    const existing = localStorage.getItem(key);
    if (existing && /^[0-9a-f]{32}$/.test(existing)) return existing;
    const id = randomId();
    localStorage.setItem(key, id);
    return id;
  } catch {
    return randomId();
  }
}

function stateOf(status: ConnectionStatus): CallConnection {
  switch (status) {
    case "idle":
    case "connecting":
      return "connecting";
    case "joined":
      return "connected";
    case "reconnecting":
      return "reconnecting";
    case "closed":
      return "closed";
    default:
      return assertNever(status);
  }
}

function failureOf(
  state: CallSessionState,
  everJoined: boolean,
  leaving: boolean,
): SessionFailure | undefined {
  const { status, error } = state.connection;
  if (status !== "closed" || leaving) return undefined;
  switch (error?.code) {
    case "room_full":
      return { kind: "room-full" };
    case "duplicate_participant":
      return { kind: "duplicate" };
    case "gave_up":
    case "bad_url":
      return everJoined
        ? {
            kind: "closed",
            reason: "The connection to the call server was lost and could not be restored.",
          }
        : { kind: "unreachable" };
    default:
      return {
        kind: "closed",
        reason: error
          ? `The call server closed the connection (${error.code}).`
          : "The call ended.",
      };
  }
}

export function openCoreSession(
  secret: CallSecret,
  displayName: string,
  options: PageOptions,
  admission?: AdmissionConfig,
): SessionPort {
  const session = new CallSession({
    secret,
    userId: storedId(USER_ID_KEY),
    deviceId: storedId(DEVICE_ID_KEY),
    displayName,
    workerOrigin: window.location.origin,
    WebSocket,
    reconnect: RECONNECT,
    ...(options.ratchetIntervalMs
      ? { schedule: { ratchetIntervalMs: options.ratchetIntervalMs } }
      : {}),
    ...(admission ? { admission } : {}),
    signatures,
    sharedSecrets,
  });
  const listeners = new Set<() => void>();
  /**
   * A number per held epoch that changes whenever that epoch's key changes (a fresh key replacing
   * a look-ahead ratchet): the media plan reinstalls a slot when its generation moves.
   */
  const generations = new Map<number, number>();
  /**
   * The key check each held epoch's generation was given for: a read of the state that finds
   * another check (the core installed a key and has not sent its `keys` event yet) moves the
   * generation at once, so the media plan never names one generation with two keys (the frame
   * guard refuses such a generation for good).
   */
  const checks = new Map<number, string>();
  let generation = 0;
  let everSent = false;
  const rotations: SessionSnapshot["rotations"] = [];
  const connectionLog: string[] = [];
  let everJoined = false;
  let leaving = false;

  const changed = () => {
    for (const listener of listeners) listener();
  };

  session.on("connection", (state) => {
    if (state.status === "joined") everJoined = true;
    connectionLog.push(`${Date.now()} ${state.status}${state.error ? ` ${state.error.code}` : ""}`);
    if (connectionLog.length > ROTATIONS_KEPT) connectionLog.shift();
    changed();
  });
  session.on("roster", changed);
  session.on("grant", changed);
  session.on("securityCode", changed);
  session.on("chat", changed);
  session.on("hands", changed);
  let storedState: string | undefined;
  session.on("admission", (state) => {
    if (state.stateBytes && state.stateBytes !== storedState) {
      storedState = state.stateBytes;
      storeMembershipState(secret, state.stateBytes);
    }
    changed();
  });
  session.on("keys", (keys) => {
    for (const epoch of keys.removed) {
      generations.delete(epoch);
      checks.delete(epoch);
    }
    for (const epoch of keys.added) {
      generations.set(epoch, ++generation);
      const check = session.keyCheck(epoch);
      if (check) checks.set(epoch, check);
      else checks.delete(epoch);
    }
    changed();
  });
  // Every switch reaches the media layer, "send nothing" (epoch 0) included: the key plan reads
  // the sending epoch from the session on each change.
  session.on("sending", (sending) => {
    if (sending.epoch > 0) everSent = true;
    changed();
  });
  session.on("metric", (metric) => {
    if (metric.type !== "rotation") return;
    rotations.push({ epoch: metric.epoch, fresh: metric.fresh, reason: metric.reason });
    if (rotations.length > ROTATIONS_KEPT) rotations.shift();
    changed();
  });

  return {
    snapshot(): SessionSnapshot {
      const state = session.snapshot();
      return {
        state: stateOf(state.connection.status),
        selfId: state.participantId,
        roster: [...state.roster],
        unverified: [...state.unverified],
        conflicts: [...state.conflicts],
        livekit: state.grant,
        // The call's current epoch is the one we send with; keyEpochs also holds the look-ahead.
        epoch: state.sending.epoch > 0 ? state.sending.epoch : undefined,
        sendingEpoch: state.sending.epoch > 0 ? state.sending.epoch : undefined,
        waitingForNewKey: everSent && state.sending.epoch === 0,
        lastRotationAt: state.sending.epoch > 0 ? state.sending.at : undefined,
        securityCode: state.securityCode === "" ? undefined : state.securityCode,
        keyEpochs: [...state.keys],
        rotations: [...rotations],
        failure: failureOf(state, everJoined, leaving),
        connectionLog: [...connectionLog],
        chat: state.chat,
        hands: state.hands,
        admission: state.admission
          ? {
              status: state.admission.status,
              role: state.admission.role,
              waiting: [...state.admission.waiting],
              hosts: [...state.admission.hosts],
              cohosts: [...state.admission.cohosts],
            }
          : undefined,
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    keyState(): KeyState {
      const state = session.snapshot();
      return {
        selfId: state.participantId,
        senders: state.roster.filter((entry) => !entry.self).map((entry) => entry.participantId),
        held: state.keys.flatMap((epoch) => {
          const check = session.keyCheck(epoch);
          if (!check) return [];
          // The generation follows the key bytes, even between an install and its `keys` event.
          if (checks.get(epoch) !== check) {
            checks.set(epoch, check);
            generations.set(epoch, ++generation);
          }
          return [{ epoch, generation: generations.get(epoch) ?? 0, check }];
        }),
        sendingEpoch: state.sending.epoch,
      };
    },
    senderKey: (epoch, participantId) => session.senderKey(epoch, participantId),
    reportDecryptFailures: () => session.reportDecryptFailures(),
    join: () => session.join(),
    sendChat: (text) => session.sendChat(text),
    react: (emoji) => session.react(emoji),
    setHand: (up) => session.setHand(up),
    admit: (participantId) => session.admit(participantId),
    decline: (participantId) => session.decline(participantId),
    remove: (participantId) => session.remove(participantId),
    appointCohost: (participantId) => session.appointCohost(participantId),
    onReaction: (listener) => session.on("reaction", listener),
    leave() {
      leaving = true;
      session.leave();
    },
  };
}
