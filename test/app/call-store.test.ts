// The call store (web/src/app/callStore.ts) in Node, inside createRoot as Solid's own primitives are
// tested: a fake session port stands for the core, a fake media layer for livekit (CallMedia,
// replaced with vi.mock), and the checks read the store's signals after each event: the call's
// connection, when media starts, how a failure or a leave ends the call, who is an intruder, and
// when the store asks the core for a key.
import type { LocalTrack } from "livekit-client";
import { createMemo, createRoot } from "solid-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallStore } from "../../web/src/app/callStore";
import { createCallStore } from "../../web/src/app/callStore";
import type { Problem } from "../../web/src/app/problems";
import { readPageOptions } from "../../web/src/app/settings";
import { bannerText } from "../../web/src/ui/connectionBanner";
import type { ChatEntry, RosterEntry } from "../../web/src/core";
import { REACTION_SHOWN_MS } from "../../web/src/app/chatView";
import { distinctTags } from "../../web/src/app/names";
import { randomId } from "../support/ids";
import { FakeCallMedia, participant } from "./fake-call-media";
import { FakeSessionPort } from "./fake-session-port";

vi.mock("../../web/src/media/callMedia", async () => ({
  CallMedia: (await import("./fake-call-media")).FakeCallMedia,
}));

const GRANT = { url: "wss://sfu.invalid", token: "token-1" };

function entry(participantId: string, seq: number, self = false): RosterEntry {
  return {
    participantId,
    seq,
    displayName: self ? "Me" : `Member ${seq}`,
    verified: true,
    leader: seq === 1,
    self,
  };
}

function setup() {
  const session = new FakeSessionPort(randomId());
  const tracks = [{ stopped: false }, { stopped: false }];
  const problems: Problem[] = [];
  const ended = { left: 0 };
  let store: CallStore | undefined;
  let dispose = () => {};
  createRoot((disposeRoot) => {
    dispose = disposeRoot;
    store = createCallStore({
      secret: {} as never, // only the session port reads it, and that is a fake
      displayName: "Me",
      options: readPageOptions(""),
      tracks: tracks.map((track) => ({
        stop: () => {
          track.stopped = true;
        },
      })) as unknown as LocalTrack[],
      openSession: () => session,
      onProblem: (problem) => problems.push(problem),
      onLeft: () => {
        ended.left += 1;
      },
    });
  });
  const media = FakeCallMedia.made.at(-1);
  if (!store || !media) throw new Error("the store made no media");
  return { store, session, media, problems, ended, tracks, dispose };
}

/** Lets promise callbacks (shutdown, onProblem) run. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  FakeCallMedia.made = [];
  const devices = [
    { kind: "videoinput", deviceId: "cam", label: "Camera" },
    { kind: "audioinput", deviceId: "mic", label: "Microphone" },
  ];
  vi.stubGlobal("navigator", {
    mediaDevices: {
      enumerateDevices: async () => devices,
      addEventListener: () => {},
      removeEventListener: () => {},
    },
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("call store", () => {
  it("joins on creation and shows the call connected only when signalling and the SFU both are", async () => {
    const { store, session, media, dispose } = setup();
    expect(session.joined).toBe(true);
    expect(store.connection()).toBe("connecting");
    session.report({ state: "connected", livekit: GRANT });
    expect(store.connection()).toBe("connecting");
    media.set({ connection: "connected" });
    expect(store.connection()).toBe("connected");
    expect(bannerText(store.connection(), store.restoring())).toBe("Connecting…");
    media.set({ connection: "reconnecting" });
    expect(store.connection()).toBe("reconnecting");
    expect(store.restoring()).toEqual({ media: true, call: false });
    expect(bannerText(store.connection(), store.restoring())).toMatch(
      /^Reconnecting to the media server.*keys are kept/,
    );
    session.report({ state: "reconnecting" });
    expect(store.restoring()).toEqual({ media: true, call: true });
    expect(bannerText(store.connection(), store.restoring())).toMatch(
      /media server and rejoining the call/,
    );
    media.set({ connection: "connected" });
    expect(store.connection()).toBe("reconnecting");
    expect(store.restoring()).toEqual({ media: false, call: true });
    // A rejoin is a new membership: the banner must not promise the old keys.
    expect(bannerText(store.connection(), store.restoring())).toMatch(
      /^Rejoining the call.*send nothing until the call gives you a new key/,
    );
    session.report({ state: "connected", livekit: GRANT });
    expect(store.connection()).toBe("connected");
    expect(store.restoring()).toEqual({ media: false, call: false });
    await flush();
    expect(store.cameras().map((d) => d.deviceId)).toEqual(["cam"]);
    expect(store.microphones().map((d) => d.deviceId)).toEqual(["mic"]);
    dispose();
  });

  it("connects the media once, with the first grant the session gets", () => {
    const { session, media, dispose } = setup();
    expect(media.connects).toEqual([]);
    session.report({ state: "connected", livekit: GRANT });
    session.report({ livekit: { ...GRANT, token: "token-2" }, epoch: 1 });
    expect(media.connects.map((c) => c.token)).toEqual(["token-1"]);
    dispose();
  });

  it("recomputes what depends on it when the session changes (Solid's reactive build in Node)", () => {
    const { store, session, media, dispose } = setup();
    const self = session.selfId;
    const bob = randomId();
    createRoot((disposeNames) => {
      const names = createMemo(() => store.tiles().map((tile) => tile.name));
      expect(names()).toEqual([]);
      session.report({ roster: [entry(bob, 1), entry(self, 2, true)], epoch: 1, sendingEpoch: 1 });
      media.set({ remotes: [participant(bob)] });
      expect(names()).toEqual(["Me", "Member 1"]);
      expect(store.epoch()).toBe(1);
      disposeNames();
    });
    dispose();
  });

  it("counts as intruders the server's unverified ids and the SFU's non-members, once each", () => {
    const { store, session, media, dispose } = setup();
    const self = session.selfId;
    const [bob, ghost, eve] = [randomId(), randomId(), randomId()];
    session.report({ roster: [entry(bob, 1), entry(self, 2, true)], unverified: [ghost] });
    media.set({ remotes: [participant(bob), participant(eve), participant(ghost)] });
    expect(store.intruders()).toEqual([ghost, eve]);
    const tiles = store.tiles().filter((tile) => tile.participantId === eve);
    expect(tiles.map((tile) => [tile.name, tile.crypto.kind, tile.video])).toEqual([
      ["Unverified participant", "intruder", undefined],
    ]);
    dispose();
  });

  it("a session failure ends the call: session left, tracks stopped, media closed, then the problem", async () => {
    const { session, media, problems, tracks, dispose } = setup();
    session.report({ failure: { kind: "room-full" } });
    await flush();
    expect(problems).toEqual([{ kind: "room-full" }]);
    expect(session.left).toBe(true);
    expect(media.closed).toBe(true);
    expect(tracks.every((track) => track.stopped)).toBe(true);
    session.report({ failure: { kind: "closed", reason: "again" } });
    await flush();
    expect(problems).toHaveLength(1);
    dispose();
  });

  it("an unreachable SFU is its own problem; an SFU that gives up after connecting is a disconnect", async () => {
    const unreachable = setup();
    unreachable.media.refuseConnect = true;
    unreachable.session.report({ state: "connected", livekit: GRANT });
    await flush();
    expect(unreachable.problems).toEqual([{ kind: "sfu-unreachable" }]);
    unreachable.dispose();

    const lost = setup();
    lost.session.report({ state: "connected", livekit: GRANT });
    lost.media.set({ connection: "closed" }); // never connected yet: not a lost call
    await flush();
    expect(lost.problems).toEqual([]);
    lost.media.set({ connection: "connected" });
    lost.media.set({ connection: "closed" });
    await flush();
    expect(lost.problems.map((p) => p.kind)).toEqual(["disconnected"]);
    lost.dispose();
  });

  it("leave() ends the call once, and the session's keys no longer reach the media", async () => {
    const { store, session, media, ended, dispose } = setup();
    const bob = randomId();
    session.set({ senders: [bob] });
    session.hold(1);
    expect(media.keys.plan().receive.has(bob)).toBe(true);
    await store.leave();
    await store.leave();
    expect(ended.left).toBe(1);
    expect(session.left).toBe(true);
    expect(media.closed).toBe(true);
    session.set({ senders: [] });
    expect(media.keys.plan().receive.has(bob)).toBe(true);
    dispose();
  });

  it("asks the core for the key when a verified sender's frames fail for a second, never for a stranger's", async () => {
    const { session, media, dispose } = setup();
    const self = session.selfId;
    const [bob, eve] = [randomId(), randomId()];
    session.report({ roster: [entry(bob, 1), entry(self, 2, true)] });
    media.set({ remotes: [participant(bob), participant(eve)] });

    for (let i = 0; i < 3; i++) {
      media.decryptErrors.set(eve, { count: 50, lastAt: Date.now() });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(session.keyRequests).toBe(0);

    for (let i = 0; i < 2; i++) {
      media.decryptErrors.set(bob, { count: 5 + i, lastAt: Date.now() });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(session.keyRequests).toBe(1);
    dispose();
  });

  it("chat: counts others' unread lines until the panel shows them, and passes what is typed to the core", () => {
    const { store, session, dispose } = setup();
    const self = session.selfId;
    const bob = randomId();
    const line = (from: string, counter: number, extra: Partial<ChatEntry> = {}): ChatEntry => ({
      id: `${from}/${counter}`,
      from,
      displayName: from === self ? "Me" : "Bob",
      self: from === self,
      lamport: counter,
      counter,
      at: 0,
      state: "shown",
      text: `line ${counter}`,
      ...extra,
    });
    session.report({ chat: [line(bob, 1), line(self, 2)] });
    expect(store.unreadChat()).toBe(1);
    store.markChatRead();
    expect(store.unreadChat()).toBe(0);
    // A line that could not be decrypted is unread too: the reader should see that it was there.
    session.report({
      chat: [
        line(bob, 1),
        line(self, 2),
        line(bob, 3, { state: "undecryptable", text: undefined }),
      ],
    });
    expect(store.unreadChat()).toBe(1);
    expect(store.sendChat("hello")).toBe(true);
    expect(session.sent).toEqual(["chat:hello"]);
    dispose();
  });

  it("hands and reactions: the raised hand toggles through the core, a reaction floats for its time", async () => {
    const { store, session, dispose } = setup();
    const self = session.selfId;
    const bob = randomId();
    expect(store.handRaised()).toBe(false);
    store.toggleHand();
    expect(session.sent).toEqual(["hand:true"]);
    session.report({ hands: [self, bob] });
    expect(store.handRaised()).toBe(true);
    store.toggleHand();
    expect(session.sent).toEqual(["hand:true", "hand:false"]);

    session.reportReaction({ from: bob, emoji: "🎉", self: false, at: 0 });
    expect(store.reactions().map((r) => [r.from, r.emoji])).toEqual([[bob, "🎉"]]);
    await vi.advanceTimersByTimeAsync(REACTION_SHOWN_MS + 1);
    expect(store.reactions()).toEqual([]);
    dispose();
  });

  it("two members with one name are told apart on the roster and in the chat", () => {
    const { store, session, dispose } = setup();
    const self = session.selfId;
    const [alice, mallory] = [randomId(), randomId()];
    session.report({
      roster: [
        { ...entry(alice, 1), displayName: "Alice" },
        { ...entry(mallory, 2), displayName: "Alice" },
        entry(self, 3, true),
      ],
      chat: [
        {
          id: `${mallory}/1`,
          from: mallory,
          displayName: "Alice",
          self: false,
          lamport: 1,
          counter: 1,
          at: 0,
          state: "shown",
          text: "send me the code",
        },
      ],
    });
    const tag = (id: string) => distinctTags([alice, mallory]).get(id);
    const names = store.roster().map((e) => e.displayName);
    expect(names).toEqual([`Alice ·${tag(alice)}`, `Alice ·${tag(mallory)}`, "Me"]);
    expect(store.chat()[0]?.displayName).toBe(`Alice ·${tag(mallory)}`);
    // Mallory leaves: its line keeps its tag, and so does Alice.
    session.report({
      roster: [{ ...entry(alice, 1), displayName: "Alice" }, entry(self, 3, true)],
    });
    expect(store.chat()[0]?.displayName).toBe(`Alice ·${tag(mallory)}`);
    expect(store.roster()[0]?.displayName).toBe(`Alice ·${tag(alice)}`);
    dispose();
  });
});
