// Pre-join: name, camera and microphone preview, device pickers, mute toggles, join. The name is
// remembered in this browser only; it reaches the other participants sealed in our announcement.
import { createSignal, For, onMount, Show } from "solid-js";
import type { PreJoin } from "../app/preJoin";
import { DISPLAY_NAME_MAX } from "../core";
import { Logo } from "./Icons";
import { InviteLink } from "./InviteLink";
import { VideoView } from "./TrackView";

export function PreJoinScreen(props: {
  preJoin: PreJoin;
  inviteLink: string;
  initialName: string;
  joining: boolean;
  onJoin: (displayName: string) => void;
}) {
  const [name, setName] = createSignal(props.initialName);
  const devices = props.preJoin;
  onMount(() => {
    void devices.start();
  });
  return (
    <main class="screen stack">
      <div class="brand">
        <Logo /> Hush
      </div>
      <h1>Ready to join?</h1>
      <div class="prejoin">
        <section class="stack" aria-label="Camera preview">
          <div class="preview">
            <Show
              when={devices.cameraOn() && devices.video()}
              fallback={
                <div class="placeholder">
                  {devices.cameraOn() ? "Starting camera…" : "Camera is off"}
                </div>
              }
            >
              {(track) => <VideoView track={track()} mirror label="Your camera preview" />}
            </Show>
          </div>
          <div class="row">
            <button
              type="button"
              class={devices.micOn() ? "btn" : "btn off"}
              aria-pressed={!devices.micOn()}
              onClick={() => devices.setMic(!devices.micOn())}
            >
              {devices.micOn() ? "Mute microphone" : "Unmute microphone"}
            </button>
            <button
              type="button"
              class={devices.cameraOn() ? "btn" : "btn off"}
              aria-pressed={!devices.cameraOn()}
              onClick={() => devices.setCamera(!devices.cameraOn())}
            >
              {devices.cameraOn() ? "Turn camera off" : "Turn camera on"}
            </button>
          </div>
          <Show when={devices.problem()}>
            <p class="notice" role="status">
              {devices.problem() === "denied"
                ? "Camera or microphone access is blocked. Allow it in the browser's site settings, or join without them."
                : "A camera or microphone could not be opened. Pick another device or join without it."}
            </p>
          </Show>
        </section>
        <form
          class="card stack"
          onSubmit={(event) => {
            event.preventDefault();
            props.onJoin(name());
          }}
        >
          <label>
            Your name (shown only to people in the call)
            <input
              type="text"
              name="displayName"
              value={name()}
              maxLength={DISPLAY_NAME_MAX}
              autocomplete="nickname"
              onInput={(event) => setName(event.currentTarget.value)}
              placeholder="e.g. Alex"
            />
          </label>
          <label>
            Camera
            <select onChange={(event) => devices.chooseCamera(event.currentTarget.value)}>
              <For each={devices.cameras()}>
                {(device, index) => (
                  <option value={device.deviceId}>{device.label || `Camera ${index() + 1}`}</option>
                )}
              </For>
            </select>
          </label>
          <label>
            Microphone
            <select onChange={(event) => devices.chooseMicrophone(event.currentTarget.value)}>
              <For each={devices.microphones()}>
                {(device, index) => (
                  <option value={device.deviceId}>
                    {device.label || `Microphone ${index() + 1}`}
                  </option>
                )}
              </For>
            </select>
          </label>
          <button
            type="submit"
            class="btn primary"
            disabled={props.joining || !devices.settled() || name().trim() === ""}
          >
            {props.joining ? "Joining…" : devices.settled() ? "Join call" : "Starting devices…"}
          </button>
        </form>
      </div>
      <section class="card">
        <InviteLink link={props.inviteLink} />
      </section>
    </main>
  );
}
