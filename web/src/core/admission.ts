// Admission in an ask-to-join call (docs/admission.md): the newest valid membership state this
// client holds, whether it lets a member key in, and, on the host's or a co-host's device, the
// changes it signs. What a change means for keys (the leader keys only admitted members; a removed
// member is a leaver) is the verified roster's and the schedule's business; this file only decides
// who is admitted, and nothing a server says can change that without a valid signature.
import { toBase64url } from "./base64url.js";
import { equalBytes } from "./bytes.js";
import type { CurveOps } from "./curve-ops.js";
import {
  type CohostGrant,
  MAX_COHOSTS,
  MAX_DECLINED,
  MAX_VERSION,
  type MembershipState,
  signGrant,
  signMembershipState,
  supersedes,
  verifyMembershipState,
} from "./membership-state.js";

export interface MemberKeyPair {
  /** Ed25519 secret key (32-byte seed). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** How this client stands in the call, by the newest state it holds. */
export type AdmissionStatus =
  /** Not (yet) in any state it holds: it gets no key and sees nobody. */
  | "waiting"
  | "admitted"
  /** The newest state declines its member key. */
  | "declined"
  /** It was admitted under an earlier state and the newest one no longer admits it. */
  | "removed";

export type AdmissionRole = "host" | "cohost" | "member";

/**
 * What offering a state did: `taken` (it replaces the one held), `same` (the very state held),
 * `stale` (valid, but the one held replaces it: its sender is behind), `refused` (not valid here).
 */
export type Offered = "taken" | "same" | "stale" | "refused";

export interface AdmissionOptions {
  readonly roomId: string;
  /** The host's Ed25519 public key, from the invite link. */
  readonly hostKey: Uint8Array;
  /** This device's member key for the call (the host's device uses the host key). */
  readonly member: MemberKeyPair;
  /** The newest state this device stored for the call (a reload keeps the host's versions). */
  readonly stored?: Uint8Array;
  readonly ops?: CurveOps;
}

interface Held {
  readonly state: MembershipState;
  readonly bytes: Uint8Array;
}

export class Admission {
  private held: Held | undefined;
  private wasAdmitted = false;
  /** States refused (forged, from another call, older than the one held). */
  refused = 0;

  constructor(private readonly options: AdmissionOptions) {
    if (options.stored) this.offer(options.stored);
    if (!this.held && this.isHost()) {
      // A new call: version 1 admits nobody but the host (the host's key needs no entry).
      const grant = signGrant(options.roomId, options.member.secretKey, 0, [], options.ops);
      this.sign({ version: 1, grant, admitted: [], declined: [] });
    }
    this.wasAdmitted = this.status() === "admitted";
  }

  /** The newest state's bytes, to broadcast or store; undefined before any has arrived. */
  get stateBytes(): Uint8Array | undefined {
    return this.held?.bytes;
  }

  get version(): number {
    return this.held?.state.version ?? 0;
  }

  isHost(): boolean {
    return this.isHostKey(this.options.member.publicKey);
  }

  isHostKey(key: Uint8Array): boolean {
    return equalBytes(key, this.options.hostKey);
  }

  /** Host or a co-host of the newest state's grant: may sign changes. */
  isAuthority(): boolean {
    return this.role() !== "member";
  }

  role(): AdmissionRole {
    if (this.isHost()) return "host";
    return this.isCohost(this.options.member.publicKey) ? "cohost" : "member";
  }

  isCohost(key: Uint8Array): boolean {
    return this.held?.state.grant.cohosts.some((k) => equalBytes(k, key)) ?? false;
  }

  /** Whether `key` may be keyed: the host, a co-host, or an admitted member key. */
  admits(key: Uint8Array | undefined): boolean {
    if (!key) return false;
    if (equalBytes(key, this.options.hostKey)) return true;
    const state = this.held?.state;
    if (!state) return false;
    return this.isCohost(key) || state.admitted.some((k) => equalBytes(k, key));
  }

  declines(key: Uint8Array | undefined): boolean {
    return !!key && (this.held?.state.declined.some((k) => equalBytes(k, key)) ?? false);
  }

  status(): AdmissionStatus {
    const own = this.options.member.publicKey;
    if (this.admits(own)) return "admitted";
    if (this.wasAdmitted) return "removed";
    return this.declines(own) ? "declined" : "waiting";
  }

  /**
   * A state from the room. Only a valid one that replaces the one held changes anything; the held
   * state offered again costs no signature check (a relay may repeat it at will).
   */
  offer(bytes: Uint8Array): Offered {
    if (this.held && equalBytes(this.held.bytes, bytes)) return "same";
    let state: MembershipState;
    try {
      state = verifyMembershipState(
        this.options.roomId,
        this.options.hostKey,
        bytes,
        this.options.ops,
      );
    } catch {
      this.refused += 1;
      return "refused";
    }
    const candidate = { state, bytes: bytes.slice() };
    if (!supersedes(candidate, this.held)) return "stale";
    this.held = candidate;
    if (this.status() === "admitted") this.wasAdmitted = true;
    return "taken";
  }

  // ---- changes, on the host's or a co-host's device ----

  /** Lets `key` in (and takes it off the declined list). False when this device may not. */
  admit(key: Uint8Array): boolean {
    const state = this.held?.state;
    if (!state || !this.isAuthority() || this.admits(key)) return false;
    return this.sign({
      version: state.version + 1,
      grant: state.grant,
      admitted: [...state.admitted, key],
      declined: state.declined.filter((k) => !equalBytes(k, key)),
    });
  }

  /** Declines a waiting key; it stays declined until admitted. */
  decline(key: Uint8Array): boolean {
    const state = this.held?.state;
    if (!state || !this.isAuthority() || this.admits(key) || this.declines(key)) return false;
    return this.sign({
      version: state.version + 1,
      grant: state.grant,
      admitted: state.admitted,
      declined: [...state.declined, key].slice(-MAX_DECLINED),
    });
  }

  /**
   * Takes an admitted member out. A co-host may not remove the host or a co-host (their standing
   * comes from the host's grant, which only the host signs); the host removes a co-host by
   * dismissing it as well.
   */
  remove(key: Uint8Array): boolean {
    const state = this.held?.state;
    if (!state || !this.isAuthority() || !this.admits(key)) return false;
    if (equalBytes(key, this.options.hostKey)) return false;
    let grant = state.grant;
    if (this.isCohost(key)) {
      if (!this.isHost()) return false;
      grant = this.grantWithout(grant, key);
    }
    return this.sign({
      version: state.version + 1,
      grant,
      admitted: state.admitted.filter((k) => !equalBytes(k, key)),
      declined: state.declined,
    });
  }

  /** The host appoints an admitted member as co-host. */
  appointCohost(key: Uint8Array): boolean {
    const state = this.held?.state;
    if (!state || !this.isHost() || !this.admits(key) || this.isCohost(key)) return false;
    if (equalBytes(key, this.options.hostKey)) return false;
    if (state.grant.cohosts.length >= MAX_COHOSTS) return false;
    const grant = signGrant(
      this.options.roomId,
      this.options.member.secretKey,
      state.grant.grantVersion + 1,
      [...state.grant.cohosts, key],
      this.options.ops,
    );
    return this.sign({
      version: state.version + 1,
      grant,
      admitted: state.admitted,
      declined: state.declined,
    });
  }

  private grantWithout(grant: CohostGrant, key: Uint8Array): CohostGrant {
    return signGrant(
      this.options.roomId,
      this.options.member.secretKey,
      grant.grantVersion + 1,
      grant.cohosts.filter((k) => !equalBytes(k, key)),
      this.options.ops,
    );
  }

  /**
   * Signs a change. Past the last version of a grant the host appoints the same co-hosts afresh
   * and starts over at 1 (a newer grant wins whatever the version); a co-host cannot, and its
   * change fails. Never throws: a change that cannot be signed is simply not made.
   */
  private sign(change: Omit<MembershipState, "signer">): boolean {
    const { roomId, member, ops } = this.options;
    let next = change;
    if (change.version > MAX_VERSION) {
      if (!this.isHost()) return false;
      const grant = signGrant(
        roomId,
        member.secretKey,
        change.grant.grantVersion + 1,
        change.grant.cohosts,
        ops,
      );
      next = { ...change, version: 1, grant };
    }
    try {
      const signed = { ...next, signer: member.publicKey };
      return this.offer(signMembershipState(roomId, member.secretKey, signed, ops)) === "taken";
    } catch {
      return false;
    }
  }
}

/** A member key as text (for maps and the UI). */
export function memberKeyText(key: Uint8Array): string {
  return toBase64url(key);
}
