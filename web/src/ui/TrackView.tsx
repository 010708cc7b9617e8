// Attaches a livekit track to a media element for as long as the component lives, and detaches it
// after: the element never outlives its track and a track is never attached twice.
import type { Track } from "livekit-client";
import { createEffect, onCleanup } from "solid-js";

export function VideoView(props: { track: Track; mirror?: boolean; label: string }) {
  let element: HTMLVideoElement | undefined;
  attachWhileMounted(
    () => props.track,
    () => element,
  );
  return (
    <video
      ref={element}
      autoplay
      playsinline
      muted
      aria-label={props.label}
      data-participant-video=""
      classList={{ mirrored: props.mirror === true }}
    />
  );
}

export function AudioView(props: { track: Track }) {
  let element: HTMLAudioElement | undefined;
  attachWhileMounted(
    () => props.track,
    () => element,
  );
  // biome-ignore lint/a11y/useMediaCaption: live call audio has no caption track to offer
  return <audio ref={element} autoplay />;
}

/** Attaches the current track to the element, and detaches it when the track changes or on unmount. */
function attachWhileMounted(track: () => Track, element: () => HTMLMediaElement | undefined) {
  createEffect(() => {
    const current = track();
    const target = element();
    if (!target) return;
    current.attach(target);
    onCleanup(() => current.detach(target));
  });
}
