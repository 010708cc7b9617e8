// The observable surface of a CallSession: what the web app renders, what the LiveKit adapter
// installs, and what benchmarks measure. Plain data only, no key bytes (those come from
// CallSession.senderKey on demand).
import type { LiveKitGrant } from "../../../protocol/signalling.js";
import type { AdmissionRole, AdmissionStatus } from "./admission.js";
import type { BroadcastKind } from "./broadcast.js";
import type { ChatEntry, ReactionEvent } from "./chat.js";
import type { CurveOps } from "./curve-ops.js";
import type { RotationReason } from "./schedule-types.js";
import type { ConnectionError, ConnectionStatus } from "./signalling-client.js";

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Why the last connection failed or closed, when it did. */
  readonly error?: ConnectionError;
}

export interface RosterEntry {
  readonly participantId: string;
  readonly seq: number;
  /** From the sealed profile of the announcement; only holders of the call secret can read it. */
  readonly displayName: string;
  /** Always true: unverified participants are listed in `unverified`, never here. */
  readonly verified: true;
  readonly leader: boolean;
  readonly self: boolean;
}

export interface KeysState {
  /** Epochs whose group keys are installed for decryption, ascending (incl. the look-ahead). */
  readonly epochs: readonly number[];
  /** Epochs that became available (or changed key) in this update. */
  readonly added: readonly number[];
  /** Epochs that were dropped in this update. */
  readonly removed: readonly number[];
}

export interface SendingState {
  /** Send media with the sender key of this epoch; 0 means no key yet (do not send). */
  readonly epoch: number;
  /** Clock time of the switch. */
  readonly at: number;
}

export type EnvelopeKind = "key-fresh" | "key-ratchet-join" | "key-current" | "ack" | "key-request";

export type MetricEvent =
  | {
      type: "rotation";
      epoch: number;
      fresh: boolean;
      reason: RotationReason;
      recipients: number;
      at: number;
    }
  | { type: "commit"; epoch: number; acked: number; timedOut: boolean; at: number }
  /** A key for `epoch` reached this client (installed for decryption; fresh keys before commit). */
  | { type: "key-in-hand"; epoch: number; at: number }
  | { type: "switch"; epoch: number; at: number };

export interface SessionMetrics {
  readonly curveOps: Readonly<CurveOps>;
  readonly envelopesSent: Readonly<Record<EnvelopeKind, number>>;
  readonly broadcastsSent: Readonly<Record<BroadcastKind, number>>;
  /** Envelopes that failed to open or parse (tampered, replayed, wrong room or recipient...). */
  readonly envelopesRejected: number;
  readonly broadcastsRejected: number;
  /**
   * Well-formed broadcasts from verified members that the key schedule would not act on (not the
   * leader's, an epoch already passed), left unchecked: no signature check is spent on them.
   */
  readonly broadcastsIgnored: number;
  readonly announcementsRejected: number;
  /** Announcements seen before for another incarnation, or after their member left: replays. */
  readonly announcementsReplayed: number;
  readonly hellosSent: number;
  /** Hellos that did not verify (wrong key, wrong announcements, unknown sender). */
  readonly hellosRejected: number;
  /** Announced peers that did not prove their liveness in time. */
  readonly livenessTimeouts: number;
  /** Welcomes refused because they broke the protocol (for example listing our own id). */
  readonly welcomesRefused: number;
  /**
   * Connections given up because more frames than the bound waited behind a signature check (a
   * server or members flooding us); each one reconnects as a new membership.
   */
  readonly inboundOverflows: number;
  /** Exceptions contained while handling an event (the timers kept running). */
  readonly scheduleErrors: number;
  readonly chat: Readonly<ChatCounters>;
}

export interface ChatCounters {
  /** Messages (text, reactions, hands) this client sealed and sent. */
  sent: number;
  /** Messages from verified members opened and shown (or applied). */
  received: number;
  /** Refused: unknown or unverified sender, bad size, signature, body, or a sender that left. */
  rejected: number;
  /** A message id (sender, counter) seen before: a replay or a duplicate, shown once. */
  replayed: number;
  /** Verified, but for an epoch this client does not hold: shown as "could not be decrypted". */
  undecryptable: number;
  /** Verified, for an epoch before this client's first key: sent before it joined, not shown. */
  beforeJoin: number;
  /** Messages a sender's counters show were sent to us but never arrived (shown as missing). */
  missing: number;
}

/** An ask-to-join call as this client holds it (docs/admission.md). */
export interface AdmissionState {
  readonly status: AdmissionStatus;
  readonly role: AdmissionRole;
  /** The held membership state's version; 0 before any has arrived. */
  readonly version: number;
  /** For the host and co-hosts: proven participants asking to join, by join seq. */
  readonly waiting: readonly { participantId: string; seq: number; displayName: string }[];
  /** Roster ids with the host's key (one, unless the server shows the host twice). */
  readonly hosts: readonly string[];
  /** Roster ids of the co-hosts the host appointed. */
  readonly cohosts: readonly string[];
  /** The held state, b64u: the app stores it so a reload keeps the host's versions. */
  readonly stateBytes: string | undefined;
}

export interface CallSessionState {
  readonly roomId: string;
  readonly participantId: string;
  readonly connection: ConnectionState;
  /** Verified members including this client, by join seq. */
  readonly roster: readonly RosterEntry[];
  /**
   * Ids the server reported that are not verified members: the announcement did not verify, was a
   * replay, or its peer never proved it is live. Never given keys.
   */
  readonly unverified: readonly string[];
  /** Announced peers still proving their liveness (not yet on the roster, no keys). */
  readonly pending: readonly string[];
  /** Ids the room showed with two incarnations at once (a server lie the UI flags). */
  readonly conflicts: readonly string[];
  readonly grant: LiveKitGrant | undefined;
  readonly sending: SendingState;
  readonly keys: readonly number[];
  /** Call security code over the verified roster (empty before joining). */
  readonly securityCode: string;
  /** The chat log in the order every member shows it (docs/chat.md). */
  readonly chat: readonly ChatEntry[];
  /** Participant ids whose hand is raised (ours included), sorted. */
  readonly hands: readonly string[];
  /** Undefined in a call without a host. */
  readonly admission: AdmissionState | undefined;
}

export interface CallSessionEvents {
  connection: ConnectionState;
  roster: {
    roster: readonly RosterEntry[];
    unverified: readonly string[];
    pending: readonly string[];
    conflicts: readonly string[];
  };
  grant: LiveKitGrant;
  keys: KeysState;
  sending: SendingState;
  securityCode: string;
  metric: MetricEvent;
  /** The whole chat log after every change. */
  chat: readonly ChatEntry[];
  /** Someone (or we) reacted; shown for a moment over the sender's tile. */
  reaction: ReactionEvent;
  hands: readonly string[];
  /** The membership state, or what it means for us, changed (ask-to-join calls only). */
  admission: AdmissionState;
}
