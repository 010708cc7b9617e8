// Who is in the call as this client has verified it (docs/key-schedule.md, Announcements and
// Liveness hellos). The room announces incarnations; each announcement is checked (MAC, embedded
// id, never seen for another incarnation) and its peer stays pending until a hello proves it live.
// Only proven peers are on the verified roster: they alone get envelopes, keys and a place in the
// security code. Ids the room reported that are not verified members are listed as unverified.
// In an ask-to-join call (docs/admission.md) the roster is also where admission is applied: a proven
// peer the membership state does not admit waits outside the key schedule (no keys, no leadership,
// no chat), a removed one is fed to the schedule as a leaver, and we join the schedule ourselves
// only once a state admits us.
import { sha256 } from "@noble/hashes/sha2.js";
import type { Member } from "../../../protocol/signalling.js";
import { type Announcement, verifyAnnouncement } from "./announcement.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import type { CallContext } from "./call-keys.js";
import type { Clock } from "./clock.js";
import { EnvelopeChannel } from "./envelope.js";
import { HelloExchange } from "./hello-exchange.js";
import type { OwnIncarnation, Peer } from "./peer.js";
import type { RosterMember, ScheduleEvent } from "./schedule-types.js";
import type { SessionCounters } from "./session-counters.js";
import type { RosterEntry } from "./session-types.js";
import type { SharedSecretDeriver } from "./shared-secrets.js";

/**
 * Liveness proof timing. A peer that has not proven itself this long after it was announced is
 * shown as unverified and stops holding back leadership; a valid hello still verifies it later
 * (no recording can produce one), so a peer whose hellos a server dropped for a while recovers.
 */
const LIVENESS_TIMEOUT_MS = 5_000;

/**
 * What this session has seen of an announcement, for its whole life (docs/key-schedule.md,
 * Announcements).
 */
interface SeenAnnouncement {
  readonly participantId: string;
  readonly seq: number;
  left: boolean;
}

/** Who the membership state lets in (admission.ts); absent in a call without a host. */
export interface AdmissionGate {
  admits(memberKey: Uint8Array | undefined): boolean;
  /** Whether the newest state admits this device. */
  selfAdmitted(): boolean;
}

/** A proven peer the membership state does not (yet) admit, as its verified announcement says. */
export interface WaitingPeer {
  readonly participantId: string;
  readonly seq: number;
  readonly displayName: string;
  readonly memberKey: Uint8Array | undefined;
}

export interface VerifiedRosterOptions {
  readonly context: CallContext;
  readonly participantId: string;
  readonly displayName: string;
  readonly clock: Clock;
  readonly own: OwnIncarnation;
  readonly counters: SessionCounters;
  /** Hands a roster event to the key schedule. */
  readonly feed: (event: ScheduleEvent) => void;
  /** The roster changed: the session publishes it. */
  readonly changed: () => void;
  /** Sends hellos as unicast payloads in one frame; false when there is no joined socket. */
  readonly sendHellos: (hellos: { to: string; payload: string }[]) => boolean;
  readonly admission?: AdmissionGate;
  /** The platform's X25519 for the hellos' Diffie-Hellmans (hello-exchange.ts). */
  readonly sharedSecrets?: SharedSecretDeriver;
}

export class VerifiedRoster {
  private ownSeq: number | undefined;
  /** We told the schedule we joined: at the welcome, or once a membership state admits us. */
  private selfKeyed = false;
  /** Announced peers of this membership, proven or still proving their liveness. */
  private readonly peers = new Map<string, Peer>();
  private readonly unverified = new Map<string, number>();
  /** Ids the room showed twice at once (a second incarnation while the first was live). */
  private readonly conflicts = new Set<string>();
  /** Every announcement admitted in this session, by its SHA-256: a replay is refused. */
  private readonly seenAnnouncements = new Map<string, SeenAnnouncement>();
  private readonly hellos: HelloExchange;

  constructor(private readonly options: VerifiedRosterOptions) {
    this.hellos = new HelloExchange({
      roomId: options.context.roomId,
      participantId: options.participantId,
      clock: options.clock,
      own: options.own,
      counters: options.counters,
      peerOf: (participantId) => this.peers.get(participantId),
      send: options.sendHellos,
      proven: (participantId, peer) => this.proven(participantId, peer),
      unusable: (participantId, peer) => this.unusable(participantId, peer),
      ...(options.sharedSecrets ? { sharedSecrets: options.sharedSecrets } : {}),
    });
  }

  /** Our join seq in this membership; undefined while we are not joined. */
  get selfSeq(): number | undefined {
    return this.ownSeq;
  }

  /**
   * A welcome starts a membership: everyone already here proves its liveness by answering our
   * announcement when the room tells it we joined; until then they are pending.
   */
  welcome(seq: number, members: readonly Member[]): void {
    this.ownSeq = seq;
    this.selfKeyed = false;
    this.clearPeers();
    this.unverified.clear();
    this.conflicts.clear();
    for (const member of members) this.admit(member);
    this.enterSchedule();
  }

  /**
   * Tells the schedule we joined, once we are admitted: every admitted proven peer is a member,
   * every other announced peer pending (it holds back leadership until it proves itself), and a
   * proven peer that is not admitted is at once expired (present, never keyed).
   */
  private enterSchedule(): void {
    if (this.ownSeq === undefined || this.selfKeyed || !this.selfAdmitted()) return;
    this.selfKeyed = true;
    const members: RosterMember[] = [];
    const pending: RosterMember[] = [];
    const outside: string[] = [];
    for (const [participantId, peer] of this.peers) {
      const entry = { participantId, seq: peer.seq };
      if (peer.proven && this.admits(peer)) {
        peer.keyed = true;
        members.push(entry);
      } else {
        pending.push(entry);
        if (peer.proven || peer.expired) outside.push(participantId);
      }
    }
    this.options.feed({
      type: "joined",
      self: { participantId: this.options.participantId, seq: this.ownSeq },
      members,
      pending,
    });
    for (const participantId of outside)
      this.options.feed({ type: "member-expired", participantId });
  }

  /**
   * The membership state changed (docs/admission.md): we join the schedule if it now admits us, a
   * proven peer it now admits becomes a member, and a member it no longer admits is fed as a leaver
   * (a fresh key without it, the same lock-out deadline) and never keyed again in this incarnation.
   * False when it no longer admits us: the session then drops every key. The caller publishes the
   * roster afterwards.
   */
  admissionChanged(): boolean {
    if (this.ownSeq === undefined) return true;
    if (this.selfKeyed && !this.selfAdmitted()) {
      this.selfKeyed = false;
      for (const peer of this.peers.values()) peer.keyed = false;
      return false;
    }
    if (!this.selfKeyed) {
      this.enterSchedule();
    } else {
      for (const [participantId, peer] of this.peers) {
        const admitted = this.admits(peer);
        if (peer.keyed && !admitted) {
          peer.keyed = false;
          peer.removed = true;
          this.options.feed({ type: "member-left", participantId, seq: peer.seq });
        } else if (!peer.keyed && admitted && peer.proven) {
          peer.keyed = true;
          this.options.feed({ type: "member-joined", member: { participantId, seq: peer.seq } });
        }
      }
    }
    return true;
  }

  private admits(peer: Peer): boolean {
    const { admission } = this.options;
    return !peer.removed && (!admission || admission.admits(peer.announcement.memberKey));
  }

  private selfAdmitted(): boolean {
    return this.options.admission?.selfAdmitted() ?? true;
  }

  /** Proven peers the membership state does not admit, by join seq (for the host's prompt). */
  waiting(): WaitingPeer[] {
    return [...this.peers]
      .filter(([, peer]) => peer.proven && !peer.keyed && !peer.removed)
      .map(([participantId, peer]) => ({
        participantId,
        seq: peer.seq,
        displayName: peer.announcement.displayName,
        memberKey: peer.announcement.memberKey,
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  /** A proven peer outside the schedule that may still be let in (it may knock). */
  waitingPeer(participantId: string): Peer | undefined {
    const peer = this.peers.get(participantId);
    return peer?.proven && !peer.keyed && !peer.removed ? peer : undefined;
  }

  /** A proven peer, keyed or not (we knock at a host's or co-host's door while we wait). */
  provenPeer(participantId: string): Peer | undefined {
    const peer = this.peers.get(participantId);
    return peer?.proven && !peer.removed ? peer : undefined;
  }

  /** Proven peers' ids with the member key each announced (ask-to-join calls). */
  provenMemberKeys(): { participantId: string; seq: number; memberKey: Uint8Array }[] {
    const out: { participantId: string; seq: number; memberKey: Uint8Array }[] = [];
    for (const [participantId, peer] of this.peers) {
      const memberKey = peer.announcement.memberKey;
      if (peer.proven && !peer.removed && memberKey)
        out.push({ participantId, seq: peer.seq, memberKey });
    }
    return out;
  }

  /** The member key a proven peer announced (ask-to-join calls), whether keyed or waiting. */
  memberKeyOf(participantId: string): Uint8Array | undefined {
    const peer = this.peers.get(participantId);
    return peer?.proven ? peer.announcement.memberKey : undefined;
  }

  memberJoined(member: Member): void {
    if (this.ownSeq === undefined || member.participantId === this.options.participantId) return;
    const known = this.peers.get(member.participantId);
    // A repeated notice must not reset the member's envelope channel (and with it replay protection).
    if (known?.seq === member.seq) return;
    // Seqs only grow within a room life (docs/protocol.md), so a real joiner is younger than every
    // verified member and us: an older "joiner" is a lie, for example a recording pushed in to
    // become everyone's key leader.
    if (member.seq <= this.youngestVerifiedSeq()) {
      this.options.counters.announcementsRejected += 1;
      this.unverified.set(member.participantId, member.seq);
      this.options.changed();
      return;
    }
    if (known) {
      // Two incarnations of one id at once: the honest room refuses that, so this is a conflict the
      // UI flags. The old one is treated as gone (keys move on without it); the new one must prove
      // itself like any joiner. Never two senders sharing one sender key.
      this.conflicts.add(member.participantId);
      this.removePeer(member.participantId);
    }
    this.unverified.delete(member.participantId);
    const peer = this.admit(member);
    if (peer) {
      // Before a state admits us we prove peers all the same (the host needs its joiners' verified
      // names), but tell the schedule nothing: it has not started.
      if (this.selfKeyed) {
        this.options.feed({
          type: "member-pending",
          member: { participantId: member.participantId, seq: member.seq },
        });
      }
      this.hellos.ask(member.participantId, peer);
    }
    this.options.changed();
  }

  memberLeft(participantId: string, seq: number): void {
    if (this.ownSeq === undefined || participantId === this.options.participantId) return;
    const peer = this.peers.get(participantId);
    const known = peer !== undefined && peer.seq === seq;
    if (known) this.removePeer(participantId);
    // Even an incarnation we never saw may hold our chain (a leader it was shown to gave it one).
    else this.options.feed({ type: "member-left", participantId, seq });
    const wasUnverified =
      this.unverified.get(participantId) === seq && this.unverified.delete(participantId);
    if (known || wasUnverified) this.options.changed();
  }

  /** The connection is gone, and with it this membership. */
  lost(): void {
    this.ownSeq = undefined;
    this.selfKeyed = false;
    this.clearPeers();
    this.unverified.clear();
  }

  /** A hello from `from`: the first valid one puts its incarnation on the verified roster. */
  receiveHello(from: string, bytes: Uint8Array): void {
    this.hellos.receive(from, this.peers.get(from), bytes);
  }

  private proven(participantId: string, peer: Peer): void {
    if (this.peers.get(participantId) !== peer || peer.proven || peer.unusable) return;
    peer.proven = true;
    peer.expired = false;
    this.clearPeerTimers(peer);
    if (this.selfKeyed) {
      if (this.admits(peer)) {
        peer.keyed = true;
        this.options.feed({ type: "member-joined", member: { participantId, seq: peer.seq } });
      } else {
        // Live, but not let in: it stops holding back leadership and gets nothing.
        this.options.feed({ type: "member-expired", participantId });
      }
    }
    this.options.changed();
  }

  /**
   * Its announcement verified but names a key no Diffie-Hellman can use: only someone who knows
   * the call secret can make that. It is listed as unverified for as long as it is in the room and
   * stops holding back leadership, like a peer that never proved itself in time.
   */
  private unusable(participantId: string, peer: Peer): void {
    if (this.peers.get(participantId) !== peer || peer.unusable) return;
    peer.unusable = true;
    peer.expired = true;
    this.clearPeerTimers(peer);
    this.options.counters.announcementsRejected += 1;
    if (this.selfKeyed) this.options.feed({ type: "member-expired", participantId });
    this.options.changed();
  }

  /** Sends queued hellos now (before envelopes, which a peer opens only once it has verified us). */
  flushHellos(): void {
    this.hellos.flush();
  }

  /** The incarnation of `participantId` if it is on the verified roster. */
  verifiedPeer(participantId: string): Peer | undefined {
    const peer = this.peers.get(participantId);
    return peer?.keyed ? peer : undefined;
  }

  /**
   * The incarnation of `participantId` as the room announced it, verified or still proving its
   * liveness (its announcement verified, so its signing key is known); undefined once it expired.
   */
  announcedPeer(participantId: string): Peer | undefined {
    const peer = this.peers.get(participantId);
    return peer && !peer.expired && !peer.unusable && this.admits(peer) ? peer : undefined;
  }

  /** True when `participantId` is on the verified roster (we are, once joined). */
  isVerified(participantId: string): boolean {
    return participantId === this.options.participantId
      ? this.ownSeq !== undefined && this.selfKeyed
      : this.peers.get(participantId)?.keyed === true;
  }

  /** The verified roster including us, by join seq; `leader` is the schedule's leader id. */
  entries(leader: string | undefined): RosterEntry[] {
    const proven = [...this.peers].filter(([, peer]) => peer.keyed);
    const entries: RosterEntry[] = proven.map(([participantId, peer]) => ({
      participantId,
      seq: peer.seq,
      displayName: peer.announcement.displayName,
      verified: true,
      leader: participantId === leader,
      self: false,
    }));
    if (this.ownSeq !== undefined && this.selfKeyed) {
      entries.push({
        participantId: this.options.participantId,
        seq: this.ownSeq,
        displayName: this.options.displayName,
        verified: true,
        leader: this.options.participantId === leader,
        self: true,
      });
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /** The announced keys of every verified peer (not us), for the security code. */
  verifiedKeys(): {
    participantId: string;
    x25519PublicKey: Uint8Array;
    ed25519PublicKey: Uint8Array;
  }[] {
    return [...this.peers]
      .filter(([, peer]) => peer.keyed)
      .map(([participantId, peer]) => ({
        participantId,
        x25519PublicKey: peer.announcement.x25519PublicKey,
        ed25519PublicKey: peer.announcement.ed25519PublicKey,
      }));
  }

  pendingIds(): string[] {
    return [...this.peers].filter(([, peer]) => !peer.proven && !peer.expired).map(([id]) => id);
  }

  /** Refused announcements, plus peers that did not prove their liveness in time. */
  unverifiedIds(): string[] {
    const expired = [...this.peers].filter(([, m]) => m.expired).map(([id]) => id);
    return [...new Set([...this.unverified.keys(), ...expired])];
  }

  conflictIds(): string[] {
    return [...this.conflicts];
  }

  /** Drops a peer incarnation for good: it can never come back with the same announcement. */
  private removePeer(participantId: string): void {
    const peer = this.peers.get(participantId);
    if (!peer) return;
    this.peers.delete(participantId);
    this.clearPeerTimers(peer);
    const seen = this.seenAnnouncements.get(announcementDigest(peer.announcementBytes));
    if (seen) seen.left = true;
    this.options.feed({ type: "member-left", participantId, seq: peer.seq });
  }

  private clearPeers(): void {
    for (const peer of this.peers.values()) this.clearPeerTimers(peer);
    this.peers.clear();
    this.hellos.clear();
  }

  private clearPeerTimers(peer: Peer): void {
    const { clock } = this.options;
    if (peer.retryTimer !== undefined) clock.clearTimeout(peer.retryTimer);
    if (peer.deadlineTimer !== undefined) clock.clearTimeout(peer.deadlineTimer);
    peer.retryTimer = undefined;
    peer.deadlineTimer = undefined;
  }

  /**
   * Checks a member's announcement (MAC, embedded id, never seen for another incarnation) and
   * admits it as pending; only a peer that then proves its liveness gets envelopes or keys.
   */
  private admit(member: Member): Peer | undefined {
    const { context, counters, own } = this.options;
    let announcementBytes: Uint8Array;
    let announcement: Announcement;
    try {
      announcementBytes = fromBase64url(member.announcement);
      announcement = verifyAnnouncement(
        context,
        member.participantId,
        announcementBytes,
        counters.curveOps,
      );
    } catch {
      counters.announcementsRejected += 1;
      this.unverified.set(member.participantId, member.seq);
      return undefined;
    }
    const digest = announcementDigest(announcementBytes);
    const seen = this.seenAnnouncements.get(digest);
    if (
      seen &&
      (seen.left || seen.participantId !== member.participantId || seen.seq !== member.seq)
    ) {
      // A recording of a member that left, or of another incarnation: never verified again.
      counters.announcementsReplayed += 1;
      this.unverified.set(member.participantId, member.seq);
      return undefined;
    }
    if (!seen) {
      this.seenAnnouncements.set(digest, {
        participantId: member.participantId,
        seq: member.seq,
        left: false,
      });
    }
    const channel = new EnvelopeChannel(
      context.roomId,
      this.options.participantId,
      own.keyPairs.x25519.secretKey,
      member.participantId,
      announcement.x25519PublicKey,
      counters.curveOps,
    );
    const peer: Peer = {
      seq: member.seq,
      announcementBytes,
      announcement,
      channel,
      proven: false,
      expired: false,
      unusable: false,
      keyed: false,
      removed: false,
      asked: 0,
      answeredAt: Number.NEGATIVE_INFINITY,
      retryTimer: undefined,
      deadlineTimer: undefined,
    };
    peer.deadlineTimer = this.options.clock.setTimeout(() => {
      peer.deadlineTimer = undefined;
      if (this.peers.get(member.participantId) !== peer || peer.proven) return;
      // No live proof in time: a recording, or a peer the server cut off. Unverified until a valid
      // hello arrives, which only the live holder of the announced keys can make.
      counters.livenessTimeouts += 1;
      peer.expired = true;
      this.options.feed({ type: "member-expired", participantId: member.participantId });
      this.options.changed();
    }, LIVENESS_TIMEOUT_MS);
    this.peers.set(member.participantId, peer);
    return peer;
  }

  private youngestVerifiedSeq(): number {
    let youngest = this.ownSeq ?? 0;
    for (const peer of this.peers.values()) {
      if (peer.proven && peer.seq > youngest) youngest = peer.seq;
    }
    return youngest;
  }
}

function announcementDigest(bytes: Uint8Array): string {
  return toBase64url(sha256(bytes));
}
