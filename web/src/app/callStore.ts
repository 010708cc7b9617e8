// The CallStore adapts the core's CallSession (through SessionPort) and the livekit room
// (CallMedia) into Solid signals. It holds no logic of its own beyond wiring: the key schedule
// lives in the core, the display rules in tiles.ts, and the components only render what is here.

import type { LocalTrack } from "livekit-client";
import { type Accessor, batch, createMemo, createSignal } from "solid-js";
import type { AdmissionConfig, CallSecret, ChatEntry, Reaction, RosterEntry } from "../core";
import { CallMedia } from "../media/callMedia";
import { EMPTY_RECEIVE_STATS, type ReceiveStats, sampleReceiveStats } from "../media/receiveStats";
import { assertNever } from "../../../protocol/guards";
import { type FloatingReaction, floatingAt, REACTION_SHOWN_MS, unreadCount } from "./chatView";
import { labelChat, labelRoster, nameLabels } from "./names";
import type { Problem } from "./problems";
import type { AdmissionView, CallConnection, SessionPort, SessionSnapshot } from "./sessionPort";
import type { PageOptions } from "./settings";
import { buildTiles, type TileModel } from "./tiles";

const STATS_INTERVAL_MS = 1000;
/** Decrypt failures from a verified sender for this long make the core ask for the key (§4). */
const DECRYPT_FAILURE_REPORT_MS = 1000;

export interface CallStore {
  connection: Accessor<CallConnection>;
  /**
   * While connection() is "reconnecting", which link is being restored: the media server's
   * (livekit reconnects with the keys we hold) or the call's signalling (we rejoin as a new
   * member and send nothing until we hold a key of the new membership).
   */
  restoring: Accessor<{ media: boolean; call: boolean }>;
  selfId: Accessor<string | undefined>;
  roster: Accessor<RosterEntry[]>;
  /** Identities the servers show that are not on the verified roster. */
  intruders: Accessor<string[]>;
  /** Ids the server showed with two incarnations at once. */
  conflicts: Accessor<string[]>;
  tiles: Accessor<TileModel[]>;
  epoch: Accessor<number | undefined>;
  sendingEpoch: Accessor<number | undefined>;
  /** We send nothing until the core holds a key no leaver had ("waiting for a new key"). */
  waitingForNewKey: Accessor<boolean>;
  lastRotationAt: Accessor<number | undefined>;
  securityCode: Accessor<string | undefined>;
  rotations: Accessor<{ epoch: number; fresh: boolean; reason: string }[]>;
  keyEpochs: Accessor<number[]>;
  connectionLog: Accessor<string[]>;
  micOn: Accessor<boolean>;
  cameraOn: Accessor<boolean>;
  screenSharing: Accessor<boolean>;
  cameras: Accessor<MediaDeviceInfo[]>;
  microphones: Accessor<MediaDeviceInfo[]>;
  activeCamera: Accessor<string | undefined>;
  activeMicrophone: Accessor<string | undefined>;
  /** Latest per-sender media statistics (for the test hooks; no key material). */
  receiveStats: Accessor<ReadonlyMap<string, ReceiveStats>>;
  decryptErrorCount: Accessor<number>;
  media: CallMedia;
  /** The end-to-end encrypted chat, in the order every member shows it. */
  chat: Accessor<readonly ChatEntry[]>;
  /** Lines from others not yet seen in the open chat panel. */
  unreadChat: Accessor<number>;
  /** The chat panel shows every line there is now. */
  markChatRead(): void;
  /** False when the line is empty, too long, or too many wait for a key already. */
  sendChat(text: string): boolean;
  react(emoji: Reaction): boolean;
  /** Participant ids with a raised hand (ours included). */
  hands: Accessor<readonly string[]>;
  handRaised: Accessor<boolean>;
  toggleHand(): void;
  /** Reactions in the air, each over its sender's tile for a few seconds. */
  reactions: Accessor<FloatingReaction[]>;
  /** An ask-to-join call: where we stand and, for the host and co-hosts, who asks to join. */
  admission: Accessor<AdmissionView | undefined>;
  /** For the host and co-hosts: who asks to join, under labels told apart from the members'. */
  asking: Accessor<{ participantId: string; label: string }[]>;
  admit(participantId: string): boolean;
  decline(participantId: string): boolean;
  remove(participantId: string): boolean;
  appointCohost(participantId: string): boolean;
  /** Test hook (?test=1): leave the signalling but keep the SFU connection and held keys. */
  leaveSignallingOnly(): void;
  /**
   * Test hook (?test=1): the media keeps every key it holds and its SFU connection whatever the
   * call does next (a member that is removed and colludes with the SFU).
   */
  freezeMedia(): void;
  toggleMic(): Promise<void>;
  toggleCamera(): Promise<void>;
  toggleScreen(): Promise<void>;
  switchDevice(kind: MediaDeviceKind, deviceId: string): Promise<void>;
  leave(): Promise<void>;
}

interface CallStoreInput {
  secret: CallSecret;
  displayName: string;
  options: PageOptions;
  tracks: LocalTrack[];
  /** An ask-to-join call's keys (admissionKeys.ts); absent for a call without a host. */
  admission?: AdmissionConfig;
  openSession(
    secret: CallSecret,
    displayName: string,
    options: PageOptions,
    admission?: AdmissionConfig,
  ): SessionPort;
  onProblem(problem: Problem): void;
  onLeft(): void;
}

function problemOfSession(snapshot: SessionSnapshot): Problem | undefined {
  const failure = snapshot.failure;
  if (!failure) return undefined;
  switch (failure.kind) {
    case "room-full":
      return { kind: "room-full" };
    case "duplicate":
      return { kind: "duplicate" };
    case "unreachable":
      return { kind: "worker-unreachable" };
    case "closed":
      return { kind: "disconnected", reason: failure.reason };
    default:
      return assertNever(failure);
  }
}

/** Creates the store and starts joining; failures arrive through `onProblem`. */
export function createCallStore(input: CallStoreInput): CallStore {
  const session = input.openSession(
    input.secret,
    input.displayName,
    input.options,
    input.admission,
  );
  const media = new CallMedia(input.options.video);
  // The one path keys take to livekit: the media layer plans them from the session's state.
  const unwire = media.attachKeys(session);

  const [snapshot, setSnapshot] = createSignal(session.snapshot(), { equals: false });
  const [mediaTick, setMediaTick] = createSignal(0);
  const [previous, setPrevious] = createSignal<ReadonlyMap<string, ReceiveStats>>(new Map());
  const [latest, setLatest] = createSignal<ReadonlyMap<string, ReceiveStats>>(new Map());
  const [now, setNow] = createSignal(Date.now());
  const [devices, setDevices] = createSignal<MediaDeviceInfo[]>([]);
  let leaving = false;
  let mediaStarted = false;
  const [read, setRead] = createSignal<ReadonlySet<string>>(new Set());
  const [reactionsInAir, setReactionsInAir] = createSignal<FloatingReaction[]>([]);
  let reactionKey = 0;
  const offReaction = session.onReaction((reaction) => {
    const now = Date.now();
    setReactionsInAir((list) =>
      floatingAt([...list, { ...reaction, at: now, key: ++reactionKey }], now),
    );
    setTimeout(() => setReactionsInAir((list) => floatingAt(list, Date.now())), REACTION_SHOWN_MS);
  });

  async function refreshDevices() {
    setDevices(await navigator.mediaDevices.enumerateDevices().catch(() => []));
  }
  void refreshDevices();
  navigator.mediaDevices?.addEventListener("devicechange", refreshDevices);

  const offSession = session.onChange(() => {
    const next = session.snapshot();
    setSnapshot(next);
    const problem = problemOfSession(next);
    if (problem && !leaving) {
      leaving = true;
      void shutdown().then(() => input.onProblem(problem));
      return;
    }
    const admission = next.admission?.status;
    if ((admission === "removed" || admission === "declined") && !leaving) {
      leaving = true;
      void shutdown().then(() => input.onProblem({ kind: admission }));
      return;
    }
    // Waiting to be let in: no media connection at all (there would be nothing to decrypt, and
    // the others' pages would list us as an intruder).
    if (next.livekit && !mediaStarted && (admission === undefined || admission === "admitted")) {
      mediaStarted = true;
      media.connect(next.livekit.url, next.livekit.token, input.tracks).catch(() => {
        if (leaving) return;
        leaving = true;
        void shutdown().then(() => input.onProblem({ kind: "sfu-unreachable" }));
      });
    }
  });
  let mediaWasConnected = false;
  const offMedia = media.onChange(() => {
    setMediaTick((n) => n + 1);
    // livekit reconnects on its own; "closed" after being connected means it gave up (or the SFU
    // removed us), which ends the call for this page.
    if (media.connection === "connected") mediaWasConnected = true;
    if (media.connection === "closed" && mediaWasConnected && !leaving) {
      leaving = true;
      void shutdown().then(() =>
        input.onProblem({
          kind: "disconnected",
          reason: "The connection to the media server was lost and could not be restored.",
        }),
      );
    }
  });

  let sampling = false;
  const statsTimer = setInterval(async () => {
    if (sampling) return;
    sampling = true;
    const sampled = new Map<string, ReceiveStats>();
    for (const participant of media.remoteParticipants()) {
      sampled.set(
        participant.identity,
        await sampleReceiveStats(participant).catch(() => EMPTY_RECEIVE_STATS),
      );
    }
    batch(() => {
      setPrevious(latest());
      setLatest(sampled);
      setNow(Date.now());
    });
    reportLastingDecryptFailures(sampled);
    sampling = false;
  }, STATS_INTERVAL_MS);

  let failingSince: number | undefined;
  function reportLastingDecryptFailures(sampled: ReadonlyMap<string, ReceiveStats>) {
    const now = Date.now();
    const verified = new Set(snapshot().roster.map((entry) => entry.participantId));
    // A verified sender's frames that fail to decrypt, or that the E2EE worker refuses because
    // they name a key we do not hold (we may have missed a key), both mean "ask for the key".
    const lastFailureAt = new Map<string, number>();
    for (const [id, errors] of media.decryptErrors) lastFailureAt.set(id, errors.lastAt);
    for (const [id, refused] of media.refused) {
      if (refused.keyNotAllowed > 0) {
        lastFailureAt.set(id, Math.max(lastFailureAt.get(id) ?? 0, refused.lastAt));
      }
    }
    const failing = [...lastFailureAt].some(([id, lastAt]) => {
      if (!verified.has(id) || now - lastAt > STATS_INTERVAL_MS * 1.5) return false;
      const before = previousSample.get(id);
      const after = sampled.get(id);
      return !before || !after || after.videoFramesDecoded <= before.videoFramesDecoded;
    });
    previousSample = sampled;
    if (!failing) {
      failingSince = undefined;
      return;
    }
    failingSince ??= now;
    if (now - failingSince >= DECRYPT_FAILURE_REPORT_MS) {
      session.reportDecryptFailures();
      failingSince = undefined;
    }
  }
  let previousSample: ReadonlyMap<string, ReceiveStats> = new Map();

  async function shutdown() {
    clearInterval(statsTimer);
    navigator.mediaDevices?.removeEventListener("devicechange", refreshDevices);
    offSession();
    offMedia();
    offReaction();
    unwire();
    session.leave();
    for (const track of input.tracks) track.stop();
    await media.close().catch(() => {});
  }

  void session.join().catch(() => {
    // The session reports the failure through its snapshot (and onChange); nothing else to do.
  });

  const connection = createMemo<CallConnection>(() => {
    mediaTick();
    const signalling = snapshot().state;
    const sfu = media.connection;
    if (signalling === "closed" || sfu === "closed") return mediaStarted ? "closed" : "connecting";
    if (signalling === "reconnecting" || sfu === "reconnecting") return "reconnecting";
    if (signalling === "connected" && sfu === "connected") return "connected";
    return "connecting";
  });

  const restoring = createMemo(
    () => {
      mediaTick();
      return {
        media: media.connection === "reconnecting",
        call: snapshot().state === "reconnecting",
      };
    },
    undefined,
    { equals: (a, b) => a.media === b.media && a.call === b.call },
  );

  // Names as shown: tagged where two members share one (names.ts).
  const labels = createMemo(() => {
    const s = snapshot();
    return nameLabels([
      ...s.roster,
      ...(s.admission?.waiting ?? []),
      ...s.chat.map((entry) => ({ participantId: entry.from, displayName: entry.displayName })),
    ]);
  });
  const roster = createMemo(() => labelRoster(snapshot().roster, labels()));
  const chat = createMemo(() => labelChat(snapshot().chat, labels()));

  const tiles = createMemo(() => {
    mediaTick();
    const s = snapshot();
    return buildTiles(media.room.localParticipant, media.remoteParticipants(), roster(), {
      epoch: s.epoch,
      sendingEpoch: s.sendingEpoch,
      waitingForNewKey: s.waitingForNewKey,
      lastRefusedAt: media.refused,
      previous: previous(),
      latest: latest(),
      lastDecryptErrorAt: media.decryptErrors,
      now: now(),
    });
  });

  // Intruders: everyone the call shows who is not on the verified roster, the ids the server
  // reported unverified and the SFU's identities that are not members.
  const intruders = createMemo(() => {
    mediaTick();
    const s = snapshot();
    const verified = new Set(s.roster.map((entry) => entry.participantId));
    const fromSfu = media
      .remoteParticipants()
      .map((participant) => participant.identity)
      .filter((identity) => !verified.has(identity));
    return [...new Set([...s.unverified, ...fromSfu])];
  });

  const local = () => {
    mediaTick();
    return media.room.localParticipant;
  };

  return {
    connection,
    restoring,
    selfId: () => snapshot().selfId || undefined,
    roster,
    intruders,
    conflicts: () => snapshot().conflicts,
    tiles,
    epoch: () => snapshot().epoch,
    sendingEpoch: () => snapshot().sendingEpoch,
    waitingForNewKey: () => snapshot().waitingForNewKey,
    lastRotationAt: () => snapshot().lastRotationAt,
    securityCode: () => snapshot().securityCode,
    rotations: () => snapshot().rotations,
    keyEpochs: () => snapshot().keyEpochs,
    connectionLog: () => snapshot().connectionLog,
    micOn: () => local().isMicrophoneEnabled,
    cameraOn: () => local().isCameraEnabled,
    screenSharing: () => local().isScreenShareEnabled,
    cameras: () => devices().filter((device) => device.kind === "videoinput"),
    microphones: () => devices().filter((device) => device.kind === "audioinput"),
    activeCamera: () => {
      mediaTick();
      return media.room.getActiveDevice("videoinput");
    },
    activeMicrophone: () => {
      mediaTick();
      return media.room.getActiveDevice("audioinput");
    },
    receiveStats: latest,
    decryptErrorCount: () => {
      mediaTick();
      let total = 0;
      for (const entry of media.decryptErrors.values()) total += entry.count;
      return total;
    },
    media,
    chat,
    unreadChat: () => unreadCount(snapshot().chat, read()),
    markChatRead() {
      const entries = snapshot().chat;
      if (unreadCount(entries, read()) > 0) setRead(new Set(entries.map((entry) => entry.id)));
    },
    sendChat: (text) => session.sendChat(text),
    react: (emoji) => session.react(emoji),
    hands: () => snapshot().hands,
    handRaised: () => snapshot().hands.includes(snapshot().selfId),
    toggleHand() {
      const s = snapshot();
      session.setHand(!s.hands.includes(s.selfId));
    },
    reactions: reactionsInAir,
    admission: () => snapshot().admission,
    asking: () =>
      (snapshot().admission?.waiting ?? []).map(({ participantId }) => ({
        participantId,
        label: labels().get(participantId) ?? "Someone",
      })),
    admit: (participantId) => session.admit(participantId),
    decline: (participantId) => session.decline(participantId),
    remove: (participantId) => session.remove(participantId),
    appointCohost: (participantId) => session.appointCohost(participantId),
    freezeMedia() {
      if (!input.options.testHooks) return;
      offSession();
      unwire();
    },
    leaveSignallingOnly() {
      if (!input.options.testHooks) return;
      offSession();
      // Like a leaver colluding with the SFU: its media keeps every key and its send key.
      unwire();
      session.leave();
    },
    toggleMic: () => media.setMicrophone(!media.room.localParticipant.isMicrophoneEnabled),
    toggleCamera: () => media.setCamera(!media.room.localParticipant.isCameraEnabled),
    toggleScreen: () => media.setScreenShare(!media.room.localParticipant.isScreenShareEnabled),
    switchDevice: (kind, deviceId) => media.switchDevice(kind, deviceId),
    async leave() {
      if (leaving) return;
      leaving = true;
      await shutdown();
      input.onLeft();
    },
  };
}
