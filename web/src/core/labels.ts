// Every KDF/MAC label of the protocol in one place (docs/key-schedule.md, Derivations), so no
// label is ever reused for two different keys. ASCII, versioned with "hush/v1".
export const LABELS = {
  roomId: "hush/v1 room id",
  participantId: "hush/v1 participant id",
  announce: "hush/v1 announce",
  profile: "hush/v1 profile",
  ratchet: "hush/v1 ratchet",
  /** Followed by the ASCII participant id. */
  sender: "hush/v1 sender ",
  /** Followed by sender id ‖ recipient id. */
  envelope: "hush/v1 envelope",
  broadcast: "hush/v1 broadcast",
  /** Liveness proof binding both announcements (liveness.ts). */
  hello: "hush/v1 hello",
  keyCheck: "hush/v1 key check",
  /** K_chat of an epoch (chat-message.ts). */
  chatKey: "hush/v1 chat key",
  /** Prefix of a chat message's AAD and signature. */
  chatMessage: "hush/v1 chat message",
  securityCode: "hush/v1 security code",
  /** A member key vouching for one announcement's session keys (announcement.ts). */
  memberBinding: "hush/v1 member binding",
  /** The host's appointment of co-hosts (membership-state.ts). */
  cohostGrant: "hush/v1 cohost grant",
  /** A signed membership state of an ask-to-join call (membership-state.ts). */
  membershipState: "hush/v1 membership state",
} as const;
