// Feeds the core's key events into livekit's key rings (DESIGN §4): for every epoch the session
// holds, each verified sender's key K_{e,P}; for ourselves, only the epoch the core tells us to send
// with (look-ahead keys must never switch our sender early). Members who join later get every held
// epoch; leavers get nothing more.
import type { KeyEvent, SessionPort } from "../app/sessionPort";
import type { SenderKeyProvider } from "./senderKeyProvider";

export function wireKeys(session: SessionPort, keys: SenderKeyProvider): () => void {
  /** (participant, epoch) pairs already handed to livekit. */
  const installed = new Set<string>();
  let members = new Set<string>();

  function install(participantId: string, epoch: number) {
    const id = `${participantId}/${epoch}`;
    if (installed.has(id)) return;
    const senderKey = session.senderKey(epoch, participantId);
    if (!senderKey) return;
    installed.add(id);
    void keys.installReceiveKey(participantId, epoch, senderKey);
  }

  function others(): string[] {
    return session
      .snapshot()
      .roster.filter((entry) => !entry.self)
      .map((entry) => entry.participantId);
  }

  function onKeyEvent(event: KeyEvent) {
    switch (event.kind) {
      case "receive":
        // The epoch may have a new key (a fresh key replacing a look-ahead ratchet): reinstall.
        for (const id of [...installed]) if (id.endsWith(`/${event.epoch}`)) installed.delete(id);
        for (const participantId of others()) install(participantId, event.epoch);
        break;
      case "send": {
        const selfId = session.snapshot().selfId;
        const senderKey = session.senderKey(event.epoch, selfId);
        if (senderKey) void keys.switchSending(selfId, event.epoch, senderKey);
        break;
      }
    }
  }

  function onRosterChange() {
    const snapshot = session.snapshot();
    const now = new Set(others());
    for (const participantId of now) {
      if (members.has(participantId)) continue;
      for (const epoch of snapshot.keyEpochs) install(participantId, epoch);
    }
    for (const participantId of members) {
      if (now.has(participantId)) continue;
      keys.forget(participantId);
      for (const id of [...installed]) if (id.startsWith(`${participantId}/`)) installed.delete(id);
    }
    members = now;
  }

  const offKeys = session.onKeyEvent(onKeyEvent);
  const offChange = session.onChange(onRosterChange);
  return () => {
    offKeys();
    offChange();
  };
}
