// What the app needs from the crypto core's CallSession, in the app's own words. The adapter in
// coreSession.ts maps the core onto this; the store depends only on this file, and the media layer
// only on the KeySource part (media terms, defined in media/keyPlan.ts).
import type {
  AdmissionRole,
  AdmissionStatus,
  ChatEntry,
  Reaction,
  ReactionEvent,
  RosterEntry,
} from "../core";
import type { MediaConnection } from "../media/callMedia";
import type { KeySource } from "../media/keyPlan";

/**
 * A connection's state in the app's words, the same four the media layer reports for the SFU: the
 * adapter maps the core's signalling status onto it, and the store combines both into the call's.
 */
export type CallConnection = MediaConnection;

/** Why the session could not start or ended; the store maps these to error screens. */
export type SessionFailure =
  | { kind: "room-full" }
  | { kind: "duplicate" }
  | { kind: "unreachable" }
  | { kind: "closed"; reason: string };

export interface SessionSnapshot {
  state: CallConnection;
  selfId: string;
  /** Verified members, self included, in join order. */
  roster: RosterEntry[];
  /**
   * Ids the server reported that are not verified members (the core's `unverified`): never given
   * keys. With the SFU's unverified identities they are the call's intruders (callStore.ts).
   */
  unverified: string[];
  /** Ids the server showed twice at once (two incarnations): a lie the UI flags. */
  conflicts: string[];
  livekit: { url: string; token: string } | undefined;
  /** Current epoch (undefined before the first key). */
  epoch: number | undefined;
  /** Epoch we encrypt with (undefined: send nothing, before the first key or after a lock-out). */
  sendingEpoch: number | undefined;
  /** We sent before and now send nothing until a key the core trusts arrives. */
  waitingForNewKey: boolean;
  lastRotationAt: number | undefined;
  securityCode: string | undefined;
  /** Epochs whose keys the session holds for decryption, ascending. */
  keyEpochs: number[];
  /** Rotations this client led, newest last (metrics for tests; no key material). */
  rotations: { epoch: number; fresh: boolean; reason: string }[];
  failure: SessionFailure | undefined;
  /** Signalling status changes, newest last: time, status and error code (tests). */
  connectionLog: string[];
  /** The chat log in the order every member shows it (end-to-end encrypted, docs/chat.md). */
  chat: readonly ChatEntry[];
  /** Participant ids with a raised hand, ours included. */
  hands: readonly string[];
  /** An ask-to-join call (docs/admission.md); undefined for a call without a host. */
  admission: AdmissionView | undefined;
}

export interface AdmissionView {
  status: AdmissionStatus;
  role: AdmissionRole;
  /** For the host and co-hosts: who asks to join, with the name each knocked with. */
  waiting: { participantId: string; seq: number; displayName: string }[];
  /** Roster ids of the host, and of the co-hosts it appointed. */
  hosts: string[];
  cohosts: string[];
}

/** keyState(), senderKey() and onChange() are what the media layer reads to plan livekit's keys. */
export interface SessionPort extends KeySource {
  snapshot(): SessionSnapshot;
  onChange(listener: () => void): () => void;
  /** The media layer saw decrypt failures for over a second: ask the leader for the key. */
  reportDecryptFailures(): void;
  join(): Promise<void>;
  leave(): void;
  /** Sends a chat line (queued while there is no key to send with); false when refused. */
  sendChat(text: string): boolean;
  /** Sends a reaction; false when there is no key to send with right now. */
  react(emoji: Reaction): boolean;
  setHand(up: boolean): void;
  /** Reactions as they happen (ours included); they are not part of the snapshot. */
  onReaction(listener: (reaction: ReactionEvent) => void): () => void;
  /** Host and co-hosts: let in, turn away, take out; the host: appoint a co-host. False if not. */
  admit(participantId: string): boolean;
  decline(participantId: string): boolean;
  remove(participantId: string): boolean;
  appointCohost(participantId: string): boolean;
}
