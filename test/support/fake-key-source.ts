// A stand-in for the core's side of the key path (KeySource, web/src/media/keyPlan.ts): the tests
// of the media layer and of the app's store set which epochs are held, who the verified senders
// are and what we send with, and the sender keys are derived from the group keys as the core does.
import { keyCheckOf, senderKeyOf, toBase64url } from "../../web/src/core";
import type { KeySource, KeyState } from "../../web/src/media/keyPlan";

/** The core as the media layer reads it: held epochs with their group keys, senders, sending epoch. */
export class FakeKeySource implements KeySource {
  readonly groupKeys = new Map<number, Uint8Array>();
  private generation = 0;
  private readonly generations = new Map<number, number>();
  private readonly listeners = new Set<() => void>();
  senders: string[] = [];
  sendingEpoch = 0;

  constructor(readonly selfId: string) {}

  keyState(): KeyState {
    return {
      selfId: this.selfId,
      senders: [...this.senders],
      held: [...this.groupKeys].map(([epoch, groupKey]) => ({
        epoch,
        generation: this.generations.get(epoch) ?? 0,
        check: toBase64url(keyCheckOf(groupKey)),
      })),
      sendingEpoch: this.sendingEpoch,
    };
  }

  senderKey(epoch: number, participantId: string) {
    const groupKey = this.groupKeys.get(epoch);
    return groupKey ? senderKeyOf(groupKey, participantId) : undefined;
  }

  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds (or replaces) the key of `epoch`. */
  hold(epoch: number, groupKey: Uint8Array = crypto.getRandomValues(new Uint8Array(32))) {
    this.groupKeys.set(epoch, groupKey);
    this.generations.set(epoch, ++this.generation);
    this.changed();
  }

  drop(epoch: number) {
    this.groupKeys.delete(epoch);
    this.generations.delete(epoch);
    this.changed();
  }

  set(change: { senders?: string[]; sendingEpoch?: number }) {
    if (change.senders) this.senders = change.senders;
    if (change.sendingEpoch !== undefined) this.sendingEpoch = change.sendingEpoch;
    this.changed();
  }

  changed() {
    for (const listener of this.listeners) listener();
  }
}
