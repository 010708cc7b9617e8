// The bridge between our key schedule (DESIGN §4) and livekit-client's E2EE worker. livekit runs in
// per-participant key mode: every sender P encrypts with its own sender key K_{e,P}, and receivers
// hold one key ring per sender. We hand livekit raw sender keys and never let it ratchet or invent
// keys on its own (its ratchet reuses one HKDF label for the frame key and the next chain key).
//
// Two rules that livekit's defaults would break:
// - A key installed for *receiving* must never move the sender's current key index. livekit's
//   BaseKeyProvider marks every key set with an explicit index as "current" (updateCurrentKeyIndex
//   = true), and its worker's ParticipantKeyHandler.setKey then switches the encryption index. We
//   therefore emit SetKey ourselves with updateCurrentKeyIndex = false for receive keys, and only
//   the local participant's key, installed when the core says "switch sending to epoch e", carries
//   true.
// - On reconnect (RoomEvent.SignalConnected) livekit re-posts getKeys() and marks as current the
//   entries whose index equals getLatestManuallySetKeyIndex(); both are overridden so that the
//   sending index survives a reconnect and look-ahead keys never become current.
import {
  BaseKeyProvider,
  createKeyMaterialFromBuffer,
  type KeyInfo,
  KeyProviderEvent,
} from "livekit-client";
import { KEYRING_SIZE, keyIndexOf } from "../core";

export class SenderKeyProvider extends BaseKeyProvider {
  /** One entry per (participant, slot): the keys livekit must re-post after a reconnect. */
  private readonly installed = new Map<string, KeyInfo>();
  private sendingIndex = 0;
  /** What was handed to livekit, newest last: ids, epochs and slots only, never key bytes. */
  readonly log: string[] = [];
  /** Installs run one after another, so a slot's later key always lands after its earlier one. */
  private queue: Promise<void> = Promise.resolve();

  constructor() {
    super({
      sharedKey: false,
      // Never let livekit derive keys on its own after a decryption failure.
      ratchetWindowSize: 0,
      // Never mark a slot invalid: a slot is re-filled with a new epoch's key every
      // KEYRING_SIZE epochs, and livekit only clears failure counts for "current" keys.
      failureTolerance: -1,
      keyringSize: KEYRING_SIZE,
    });
  }

  /** Installs sender P's key for `epoch` for decryption only. */
  async installReceiveKey(participantId: string, epoch: number, senderKey: Uint8Array) {
    await this.install(participantId, epoch, senderKey, false);
  }

  /** Installs our own key for `epoch` and makes it the one livekit encrypts with. */
  async switchSending(localParticipantId: string, epoch: number, senderKey: Uint8Array) {
    await this.install(localParticipantId, epoch, senderKey, true);
  }

  /** Stops re-posting a participant's keys (a leaver); their slots are overwritten over time. */
  forget(participantId: string) {
    for (const [id, info] of this.installed) {
      if (info.participantIdentity === participantId) this.installed.delete(id);
    }
  }

  override getKeys(): KeyInfo[] {
    return [...this.installed.values()];
  }

  override getLatestManuallySetKeyIndex(): number {
    return this.sendingIndex;
  }

  private install(
    participantId: string,
    epoch: number,
    senderKey: Uint8Array,
    makeCurrent: boolean,
  ): Promise<void> {
    const run = () => this.installNow(participantId, epoch, senderKey, makeCurrent);
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  private async installNow(
    participantId: string,
    epoch: number,
    senderKey: Uint8Array,
    makeCurrent: boolean,
  ) {
    // Copy into a fresh ArrayBuffer: WebCrypto wants an unshared buffer of exactly the key bytes.
    const raw = new Uint8Array(senderKey).buffer;
    // livekit derives the AES-GCM frame key from this HKDF base key (salt "LKFrameEncryptionKey").
    const key = await createKeyMaterialFromBuffer(raw);
    const info: KeyInfo = { key, participantIdentity: participantId, keyIndex: keyIndexOf(epoch) };
    this.installed.set(`${participantId}/${info.keyIndex}`, info);
    if (makeCurrent) this.sendingIndex = keyIndexOf(epoch);
    this.emit(KeyProviderEvent.SetKey, info, makeCurrent);
    this.log.push(
      `${Date.now()} ${makeCurrent ? "send" : "recv"} ${participantId.slice(0, 4)} e${epoch} i${info.keyIndex}`,
    );
    if (this.log.length > 60) this.log.shift();
  }
}
