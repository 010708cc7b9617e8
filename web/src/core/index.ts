// The public API of the client crypto core (see README.md next to this file). Framework-free: no
// DOM, no Solid, no LiveKit; runs in browsers and Node 20 alike.
export type { AdmissionRole, AdmissionStatus, MemberKeyPair } from "./admission.js";
export { DISPLAY_NAME_MAX } from "./announcement.js";
export { fromBase64url, toBase64url } from "./base64url.js";
export {
  type AdmissionConfig,
  CallSession,
  type CallSessionOptions,
  roomSocketUrl,
} from "./call-session.js";
export { CHAT_OUTBOX_MAX, type ChatEntry, type ReactionEvent } from "./chat.js";
export { CHAT_TEXT_MAX, REACTIONS, type Reaction } from "./chat-message.js";
export { type Clock, systemClock, type TimerHandle } from "./clock.js";
export type { CurveOps } from "./curve-ops.js";
export type { Unsubscribe } from "./emitter.js";
export {
  announceKeyOf,
  CALL_SECRET_BYTES,
  type CallSecret,
  CallSecretError,
  decodeCallSecret,
  encodeCallSecret,
  generateCallSecret,
  keyCheckOf,
  participantIdOf,
  ratchetGroupKey,
  roomIdOf,
  senderKeyOf,
} from "./identifiers.js";
export {
  decodeInvite,
  encodeInvite,
  generateMemberKey,
  type Invite,
  memberKeyFromSecret,
} from "./invite.js";
export { type Random, systemRandom } from "./random.js";
export {
  platformSharedSecrets,
  preferredSharedSecrets,
  type SharedSecretDeriver,
} from "./shared-secrets.js";
export {
  platformSignatureVerifier,
  preferredSignatureVerifier,
  type SignatureVerifier,
} from "./signature-verifier.js";
export {
  DEFAULT_SCHEDULE_CONFIG,
  type RotationReason,
  type ScheduleConfig,
} from "./schedule-types.js";
export type {
  AdmissionState,
  CallSessionEvents,
  ChatCounters,
  CallSessionState,
  ConnectionState,
  EnvelopeKind,
  KeysState,
  MetricEvent,
  RosterEntry,
  SendingState,
  SessionMetrics,
} from "./session-types.js";
export {
  type ConnectionError,
  type ConnectionStatus,
  DEFAULT_RECONNECT_POLICY,
  type ReconnectPolicy,
  type SocketConstructor,
  type SocketLike,
} from "./signalling-client.js";
export { KEYRING_SIZE, keyIndexOf } from "./key-store.js";
