// What the app needs from the crypto core's CallSession, in the app's own words. The adapter in
// coreSession.ts maps the core onto this; the store and the key wiring depend only on this file.
import type { RosterEntry } from "./tiles";

export type SignallingState = "connecting" | "connected" | "reconnecting" | "closed";

/** Why the session could not start or ended; the store maps these to error screens. */
export type SessionFailure =
  | { kind: "room-full" }
  | { kind: "duplicate" }
  | { kind: "unreachable" }
  | { kind: "closed"; reason: string };

export interface SessionSnapshot {
  state: SignallingState;
  selfId: string;
  /** Verified members, self included, in join order. */
  roster: RosterEntry[];
  /** Members the server announced whose announcement did not verify. */
  ghosts: string[];
  livekit: { url: string; token: string } | undefined;
  /** Current epoch (undefined before the first key). */
  epoch: number | undefined;
  /** Epoch we encrypt with (undefined until told to switch). */
  sendingEpoch: number | undefined;
  lastRotationAt: number | undefined;
  securityCode: string | undefined;
  /** Epochs whose keys the session holds for decryption, ascending. */
  keyEpochs: number[];
  /** Rotations this client led, newest last (metrics for tests; no key material). */
  rotations: { epoch: number; fresh: boolean; reason: string }[];
  failure: SessionFailure | undefined;
  /** Signalling status changes, newest last: time, status and error code (tests). */
  connectionLog: string[];
}

export type KeyEvent =
  /** Decryption keys for `epoch` are available: install K_{epoch,P} for every verified P. */
  | { kind: "receive"; epoch: number }
  /** Switch our own sending key to K_{epoch,self}. */
  | { kind: "send"; epoch: number };

export interface SessionPort {
  snapshot(): SessionSnapshot;
  onChange(listener: () => void): () => void;
  onKeyEvent(listener: (event: KeyEvent) => void): () => void;
  /** Sender key K_{epoch,P}, or undefined when the session no longer holds that epoch. */
  senderKey(epoch: number, participantId: string): Uint8Array | undefined;
  /** The media layer saw decrypt failures for over a second: ask the leader for the key. */
  reportDecryptFailures(): void;
  join(): Promise<void>;
  leave(): void;
}
