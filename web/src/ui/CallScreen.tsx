// The call: security at a glance in the header, the stage of video tiles, one side panel (people
// & security, or the chat) and the control bar; in an ask-to-join call, the waiting room until we
// are let in, and for the host and co-hosts the people asking to join. Everything shown comes from
// the CallStore.
import { createSignal, Match, Show, Switch } from "solid-js";
import type { CallStore } from "../app/callStore";
import { AdmissionPrompt } from "./AdmissionPrompt";
import { CallStage } from "./CallStage";
import { ChatPanel } from "./ChatPanel";
import { bannerText } from "./connectionBanner";
import { Controls } from "./Controls";
import { InviteLink } from "./InviteLink";
import { ParticipantList } from "./ParticipantList";
import { SecurityBadge } from "./SecurityBadge";
import { SecurityCode } from "./SecurityCode";
import { WaitingRoom } from "./WaitingRoom";

const canShareScreen =
  typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function";

export function CallScreen(props: { store: CallStore; inviteLink: string }) {
  return (
    <Switch>
      <Match when={props.store.admission()?.status === "waiting"}>
        <WaitingRoom onLeave={() => void props.store.leave()} />
      </Match>
      <Match when={true}>
        <InCall store={props.store} inviteLink={props.inviteLink} />
      </Match>
    </Switch>
  );
}

function InCall(props: { store: CallStore; inviteLink: string }) {
  const store = props.store;
  const moderation = () => {
    const admission = store.admission();
    if (!admission) return undefined;
    return {
      role: admission.role,
      hosts: admission.hosts,
      cohosts: admission.cohosts,
      onRemove: (participantId: string) => store.remove(participantId),
      onAppoint: (participantId: string) => store.appointCohost(participantId),
    };
  };
  const [panel, setPanel] = createSignal<"people" | "chat" | undefined>(
    typeof window === "undefined" || window.innerWidth > 720 ? "people" : undefined,
  );
  const toggle = (which: "people" | "chat") => setPanel(panel() === which ? undefined : which);
  // The floating reactions are decoration (aria-hidden); this says the newest one in words.
  const reactionSaid = () => {
    const latest = store.reactions().at(-1);
    if (!latest) return "";
    const name = latest.self
      ? "You"
      : (store.roster().find((entry) => entry.participantId === latest.from)?.displayName ??
        "Someone");
    return `${name} reacted ${latest.emoji}`;
  };
  const closeChat = () => {
    setPanel(undefined);
    document.getElementById("chat-button")?.focus();
  };
  return (
    <div class="call" data-connection={store.connection()}>
      <header class="call-header">
        <SecurityBadge
          epoch={store.epoch()}
          lastRotationAt={store.lastRotationAt()}
          waitingForNewKey={store.waitingForNewKey()}
        />
        <span class="muted" role="status" aria-live="polite">
          {store.roster().length} in call
          {store.intruders().length > 0 ? ` · ${store.intruders().length} unverified` : ""}
        </span>
      </header>
      {/* The page's main landmark and its heading, for screen-reader navigation. */}
      <main class="call-main" aria-labelledby="call-title">
        <h1 id="call-title" class="sr-only">
          Call
        </h1>
        <Show when={store.connection() !== "connected"}>
          <div class="banner" role="status" aria-live="polite">
            {bannerText(store.connection(), store.restoring())}
          </div>
        </Show>
        <AdmissionPrompt
          asking={store.asking()}
          onAdmit={(participantId) => store.admit(participantId)}
          onDecline={(participantId) => store.decline(participantId)}
        />
        <div class="call-body" classList={{ "no-panel": panel() === undefined }}>
          <CallStage tiles={store.tiles()} reactions={store.reactions()} hands={store.hands()} />
          <p class="sr-only" aria-live="polite">
            {reactionSaid()}
          </p>
          <Show when={panel() === "chat"}>
            <ChatPanel
              entries={store.chat()}
              onSend={(text) => store.sendChat(text)}
              onSeen={() => store.markChatRead()}
              onClose={closeChat}
            />
          </Show>
          <Show when={panel() === "people"}>
            <aside id="call-panel" class="panel" aria-label="People and security">
              <ParticipantList
                roster={store.roster()}
                intruders={store.intruders()}
                conflicts={store.conflicts()}
                hands={store.hands()}
                moderation={moderation()}
              />
              <SecurityCode code={store.securityCode()} />
              <InviteLink link={props.inviteLink} />
            </aside>
          </Show>
        </div>
      </main>
      <Controls
        micOn={store.micOn()}
        cameraOn={store.cameraOn()}
        screenSharing={store.screenSharing()}
        canShareScreen={canShareScreen}
        panelOpen={panel() === "people"}
        chatOpen={panel() === "chat"}
        unreadChat={store.unreadChat()}
        handRaised={store.handRaised()}
        cameras={store.cameras()}
        microphones={store.microphones()}
        activeCamera={store.activeCamera()}
        activeMicrophone={store.activeMicrophone()}
        onToggleMic={() => void store.toggleMic()}
        onToggleCamera={() => void store.toggleCamera()}
        onToggleScreen={() => void store.toggleScreen().catch(() => {})}
        onTogglePanel={() => toggle("people")}
        onToggleChat={() => toggle("chat")}
        onToggleHand={() => store.toggleHand()}
        onReact={(emoji) => store.react(emoji)}
        onSwitchDevice={(kind, deviceId) => void store.switchDevice(kind, deviceId)}
        onLeave={() => void store.leave()}
      />
    </div>
  );
}
