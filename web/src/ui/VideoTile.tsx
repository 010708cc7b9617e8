// One participant's tile: video (or a placeholder that says why there is none), name, mute and
// speaking state, and the tile's crypto state. An unverified intruder gets a red tile with no media
// and no name, never a silent black one.
import { createEffect, For, Match, Show, Switch } from "solid-js";
import { assertNever } from "../../../protocol/guards";
import type { FloatingReaction } from "../app/chatView";
import type { Rect } from "../app/gridLayout";
import type { CryptoState, TileModel } from "../app/tiles";
import { AudioView, VideoView } from "./TrackView";

export function cryptoLabel(state: CryptoState): { text: string; tone: "ok" | "wait" | "bad" } {
  switch (state.kind) {
    case "sending":
      return state.epoch === undefined
        ? { text: "Waiting for key: not sending yet", tone: "wait" }
        : { text: `Encrypting, epoch ${state.epoch}`, tone: "ok" };
    case "waiting-for-key":
      return { text: "Waiting for key", tone: "wait" };
    case "waiting-for-new-key":
      return { text: "Waiting for a new key", tone: "wait" };
    case "encrypted":
      return state.epoch === undefined
        ? { text: "Encrypted", tone: "ok" }
        : { text: `Encrypted, epoch ${state.epoch}`, tone: "ok" };
    case "decrypt-errors":
      return { text: `Decrypt errors (${state.count})`, tone: "bad" };
    case "refused-unencrypted":
      return { text: "Unencrypted media refused", tone: "bad" };
    case "intruder":
      return { text: "Not verified: not on the call's roster", tone: "bad" };
    default:
      return assertNever(state);
  }
}

function placeholderText(tile: TileModel): string {
  switch (tile.crypto.kind) {
    case "intruder":
      return "Never proved it holds the call secret. It gets no keys; its media is not shown.";
    case "refused-unencrypted":
      return "This participant's media arrived unencrypted and is not shown.";
    case "waiting-for-key":
      return tile.cameraOff ? "Camera off" : "Waiting for key…";
    case "waiting-for-new-key":
      return tile.self
        ? "Not sending: waiting for a new key after someone left."
        : "Waiting for a new key…";
    case "decrypt-errors":
      return "Media cannot be decrypted.";
    case "sending":
    case "encrypted":
      return tile.cameraOff ? "Camera off" : "No video";
    default:
      return assertNever(tile.crypto);
  }
}

/**
 * Puts the tile where the layout says, through the CSSOM (the page's policy, style-src 'self',
 * refuses style attributes but not the CSSOM). No frame: the tile is on another page and hidden;
 * its audio keeps playing.
 */
function placeTile(element: HTMLElement, frame: Rect | undefined) {
  if (!frame) return;
  element.style.setProperty("--tile-x", `${frame.x}px`);
  element.style.setProperty("--tile-y", `${frame.y}px`);
  element.style.setProperty("--tile-width", `${frame.width}px`);
  element.style.setProperty("--tile-height", `${frame.height}px`);
}

export function VideoTile(props: {
  tile: TileModel;
  frame?: Rect;
  featured?: boolean;
  reactions?: FloatingReaction[];
  handRaised?: boolean;
}) {
  let element: HTMLElement | undefined;
  createEffect(() => {
    const frame = props.frame;
    if (element) placeTile(element, frame);
  });
  const label = () => cryptoLabel(props.tile.crypto);
  const title = () =>
    `${props.tile.name}${props.tile.self ? " (you)" : ""}${props.tile.screen ? ": screen" : ""}`;
  return (
    <figure
      ref={element}
      class="tile"
      classList={{
        speaking: props.tile.speaking && !props.tile.screen,
        intruder: props.tile.crypto.kind === "intruder",
        "off-page": props.frame === undefined,
        featured: props.featured === true,
      }}
      aria-label={title()}
      data-tile={props.tile.participantId}
      data-crypto={props.tile.crypto.kind}
      data-screen={props.tile.screen ? "" : undefined}
      data-featured={props.featured ? "" : undefined}
    >
      <Show when={props.tile.video}>
        {(track) => (
          <VideoView
            track={track()}
            mirror={props.tile.self && !props.tile.screen}
            label={`Video of ${title()}`}
          />
        )}
      </Show>
      {/* Over the video until frames from this sender really decrypt: never a silent black tile. */}
      <Show
        when={!props.tile.video || !(props.tile.crypto.kind === "encrypted" || props.tile.self)}
      >
        <div class="placeholder">{placeholderText(props.tile)}</div>
      </Show>
      <Show when={props.tile.audio}>{(track) => <AudioView track={track()} />}</Show>
      {/* Reactions float up over the sender's tile; only verified members' ever arrive here. */}
      <div class="reactions" aria-hidden="true">
        <For each={props.reactions ?? []}>
          {(reaction) => (
            <span class="reaction" data-reaction={reaction.emoji}>
              {reaction.emoji}
            </span>
          )}
        </For>
      </div>
      <figcaption class="label">
        <span class="chip">
          {title()}
          {props.tile.leader ? " · key leader" : ""}
        </span>
        <Show when={props.handRaised}>
          <span class="chip wait" data-hand="">
            ✋ hand raised
          </span>
        </Show>
        <Show when={!props.tile.screen && props.tile.crypto.kind !== "intruder"}>
          <Switch>
            <Match when={props.tile.micMuted}>
              <span class="chip">mic muted</span>
            </Match>
            <Match when={props.tile.speaking}>
              <span class="chip ok">speaking</span>
            </Match>
          </Switch>
        </Show>
        <span class={`chip ${label().tone}`} data-crypto-label="">
          {label().text}
        </span>
      </figcaption>
    </figure>
  );
}
