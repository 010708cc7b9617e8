// The call's control bar: every control is a labelled button that works from the keyboard, and
// its pressed state is announced (aria-pressed; aria-expanded for the panel it shows and hides)
// rather than shown by colour alone. aria-controls names the panel only while it is there: a
// reference to an absent element is an error to assistive technology.
import { For, Show } from "solid-js";

export interface ControlsProps {
  micOn: boolean;
  cameraOn: boolean;
  screenSharing: boolean;
  canShareScreen: boolean;
  panelOpen: boolean;
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  activeCamera: string | undefined;
  activeMicrophone: string | undefined;
  onToggleMic: () => void;
  onToggleCamera: () => void;
  onToggleScreen: () => void;
  onTogglePanel: () => void;
  onSwitchDevice: (kind: MediaDeviceKind, deviceId: string) => void;
  onLeave: () => void;
}

export function Controls(props: ControlsProps) {
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
