// The call: security at a glance in the header, the stage of video tiles, the people & security panel and the
// control bar. Everything shown comes from the CallStore.
import { createSignal, Show } from "solid-js";
import type { CallStore } from "../app/callStore";
import { CallStage } from "./CallStage";
import { bannerText } from "./connectionBanner";
import { Controls } from "./Controls";
import { InviteLink } from "./InviteLink";
import { ParticipantList } from "./ParticipantList";
import { SecurityBadge } from "./SecurityBadge";
import { SecurityCode } from "./SecurityCode";

const canShareScreen =
  typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function";

export function CallScreen(props: { store: CallStore; inviteLink: string }) {
  const store = props.store;
  const [panelOpen, setPanelOpen] = createSignal(
    typeof window === "undefined" || window.innerWidth > 720,
  );
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
        <div class="call-body" classList={{ "no-panel": !panelOpen() }}>
          <CallStage tiles={store.tiles()} />
          <Show when={panelOpen()}>
            <aside id="call-panel" class="panel" aria-label="People and security">
              <ParticipantList
                roster={store.roster()}
                intruders={store.intruders()}
                conflicts={store.conflicts()}
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
        panelOpen={panelOpen()}
        cameras={store.cameras()}
        microphones={store.microphones()}
        activeCamera={store.activeCamera()}
        activeMicrophone={store.activeMicrophone()}
        onToggleMic={() => void store.toggleMic()}
        onToggleCamera={() => void store.toggleCamera()}
        onToggleScreen={() => void store.toggleScreen().catch(() => {})}
        onTogglePanel={() => setPanelOpen(!panelOpen())}
        onSwitchDevice={(kind, deviceId) => void store.switchDevice(kind, deviceId)}
        onLeave={() => void store.leave()}
      />
    </div>
  );
}
