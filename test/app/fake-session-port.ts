// The app's view of the core session (SessionPort, web/src/app/sessionPort.ts) as a test drives
// it: the test sets the snapshot the core would report and the keys it would hold, and reads back
// what the store did to the session (joined, left, asked for keys).
import type { SessionPort, SessionSnapshot } from "../../web/src/app/sessionPort";
import type { Reaction, ReactionEvent } from "../../web/src/core";
import { FakeKeySource } from "../support/fake-key-source";

const EMPTY: SessionSnapshot = {
  state: "connecting",
  selfId: "",
  roster: [],
  unverified: [],
  conflicts: [],
  livekit: undefined,
  epoch: undefined,
  sendingEpoch: undefined,
  waitingForNewKey: false,
  lastRotationAt: undefined,
  securityCode: undefined,
  keyEpochs: [],
  rotations: [],
  failure: undefined,
  connectionLog: [],
  chat: [],
  hands: [],
  admission: undefined,
};

export class FakeSessionPort extends FakeKeySource implements SessionPort {
  private current: SessionSnapshot;
  joined = false;
  left = false;
  /** How often the store asked the leader for the key (decrypt failures lasting a second). */
  keyRequests = 0;
  /** What the store asked the core to send: chat lines, reactions, hands. */
  readonly sent: string[] = [];
  private readonly reactionListeners = new Set<(reaction: ReactionEvent) => void>();

  constructor(selfId: string) {
    super(selfId);
    this.current = { ...EMPTY, selfId };
  }

  snapshot(): SessionSnapshot {
    return { ...this.current };
  }

  /** What the core reports next; the store hears it like any change of the session. */
  report(change: Partial<SessionSnapshot>): void {
    this.current = { ...this.current, ...change };
    this.changed();
  }

  reportDecryptFailures(): void {
    this.keyRequests += 1;
  }

  join(): Promise<void> {
    this.joined = true;
    return Promise.resolve();
  }

  leave(): void {
    this.left = true;
  }

  sendChat(text: string): boolean {
    this.sent.push(`chat:${text}`);
    return true;
  }

  react(emoji: Reaction): boolean {
    this.sent.push(`reaction:${emoji}`);
    return true;
  }

  setHand(up: boolean): void {
    this.sent.push(`hand:${up}`);
  }

  admit(participantId: string): boolean {
    this.sent.push(`admit:${participantId}`);
    return true;
  }

  decline(participantId: string): boolean {
    this.sent.push(`decline:${participantId}`);
    return true;
  }

  remove(participantId: string): boolean {
    this.sent.push(`remove:${participantId}`);
    return true;
  }

  appointCohost(participantId: string): boolean {
    this.sent.push(`cohost:${participantId}`);
    return true;
  }

  onReaction(listener: (reaction: ReactionEvent) => void): () => void {
    this.reactionListeners.add(listener);
    return () => this.reactionListeners.delete(listener);
  }

  /** A reaction as the core reports it. */
  reportReaction(reaction: ReactionEvent): void {
    for (const listener of this.reactionListeners) listener(reaction);
  }
}
