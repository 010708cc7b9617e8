// The call's control bar: every control is a labelled button that works from the keyboard, and
// its pressed state is announced (aria-pressed; aria-expanded for the panel it shows and hides)
// rather than shown by colour alone. aria-controls names the panel only while it is there: a
// reference to an absent element is an error to assistive technology.
import { createSignal, For, Show } from "solid-js";
import { REACTIONS, type Reaction } from "../core";

export interface ControlsProps {
  micOn: boolean;
  cameraOn: boolean;
  screenSharing: boolean;
  canShareScreen: boolean;
  panelOpen: boolean;
  chatOpen: boolean;
  unreadChat: number;
  handRaised: boolean;
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  activeCamera: string | undefined;
  activeMicrophone: string | undefined;
  onToggleMic: () => void;
  onToggleCamera: () => void;
  onToggleScreen: () => void;
  onTogglePanel: () => void;
  onToggleChat: () => void;
  onToggleHand: () => void;
  /** False when the reaction could not be sent (no key to send with right now). */
  onReact: (emoji: Reaction) => boolean;
  onSwitchDevice: (kind: MediaDeviceKind, deviceId: string) => void;
  onLeave: () => void;
}

export function Controls(props: ControlsProps) {
  const [reacting, setReacting] = createSignal(false);
  let reactButton: HTMLButtonElement | undefined;
  const closeReactions = () => {
    setReacting(false);
    reactButton?.focus();
  };
  return (
    <nav class="controls" aria-label="Call controls">
      <button
        type="button"
        class={props.micOn ? "btn" : "btn off"}
        aria-pressed={!props.micOn}
        onClick={() => props.onToggleMic()}
      >
        {props.micOn ? "Mute" : "Unmute"}
      </button>
      <button
        type="button"
        class={props.cameraOn ? "btn" : "btn off"}
        aria-pressed={!props.cameraOn}
        onClick={() => props.onToggleCamera()}
      >
        {props.cameraOn ? "Stop camera" : "Start camera"}
      </button>
      <Show when={props.canShareScreen}>
        <button
          type="button"
          class="btn"
          aria-pressed={props.screenSharing}
          onClick={() => props.onToggleScreen()}
        >
          {props.screenSharing ? "Stop sharing" : "Share screen"}
        </button>
      </Show>
      <label class="sr-only" for="camera-select">
        Camera
      </label>
      <select
        id="camera-select"
        class="device-select"
        value={props.activeCamera ?? ""}
        onChange={(event) => props.onSwitchDevice("videoinput", event.currentTarget.value)}
      >
        <For each={props.cameras}>
          {(device, index) => (
            <option value={device.deviceId}>{device.label || `Camera ${index() + 1}`}</option>
          )}
        </For>
      </select>
      <label class="sr-only" for="microphone-select">
        Microphone
      </label>
      <select
        id="microphone-select"
        class="device-select"
        value={props.activeMicrophone ?? ""}
        onChange={(event) => props.onSwitchDevice("audioinput", event.currentTarget.value)}
      >
        <For each={props.microphones}>
          {(device, index) => (
            <option value={device.deviceId}>{device.label || `Microphone ${index() + 1}`}</option>
          )}
        </For>
      </select>
      <button
        type="button"
        class="btn"
        aria-pressed={props.handRaised}
        onClick={() => props.onToggleHand()}
      >
        {props.handRaised ? "Lower hand" : "Raise hand"}
      </button>
      <div class="reactions-control">
        <button
          ref={reactButton}
          type="button"
          class="btn"
          aria-expanded={reacting()}
          aria-controls={reacting() ? "reaction-menu" : undefined}
          onClick={() => setReacting(!reacting())}
        >
          React
        </button>
        <Show when={reacting()}>
          <fieldset
            id="reaction-menu"
            class="reaction-menu"
            onKeyDown={(event) => {
              if (event.key === "Escape") closeReactions();
            }}
          >
            <legend class="sr-only">Reactions</legend>
            <For each={REACTIONS}>
              {(emoji, index) => (
                <button
                  type="button"
                  class="btn small"
                  aria-label={`React with ${emoji}`}
                  ref={(element) => {
                    if (index() === 0) queueMicrotask(() => element.focus());
                  }}
                  onClick={() => {
                    props.onReact(emoji);
                    closeReactions();
                  }}
                >
                  {emoji}
                </button>
              )}
            </For>
          </fieldset>
        </Show>
      </div>
      <button
        id="chat-button"
        type="button"
        class="btn"
        aria-expanded={props.chatOpen}
        aria-controls={props.chatOpen ? "chat-panel" : undefined}
        onClick={() => props.onToggleChat()}
      >
        Chat
        <Show when={props.unreadChat > 0}>
          {/* The name read out is the text shown: "Chat 3 unread". */}{" "}
          <span class="badge">{props.unreadChat > 99 ? "99+" : props.unreadChat}</span>
          <span class="sr-only"> unread</span>
        </Show>
      </button>
      <button
        type="button"
        class="btn"
        aria-expanded={props.panelOpen}
        aria-controls={props.panelOpen ? "call-panel" : undefined}
        onClick={() => props.onTogglePanel()}
      >
        People &amp; security
      </button>
      <button type="button" class="btn danger" onClick={() => props.onLeave()}>
        Leave
      </button>
    </nav>
  );
}
