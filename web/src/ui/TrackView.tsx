// Attaches a livekit track to a media element for as long as the component lives, and detaches it
// after: the element never outlives its track and a track is never attached twice.
import type { Track } from "livekit-client";
import { createEffect, onCleanup } from "solid-js";

export function VideoView(props: { track: Track; mirror?: boolean; label: string }) {
  let element: HTMLVideoElement | undefined;
  createEffect(() => {
    const track = props.track;
    if (!element) return;
    track.attach(element);
    onCleanup(() => {
      if (element) track.detach(element);
    });
  });
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
  createEffect(() => {
    const track = props.track;
    if (!element) return;
    track.attach(element);
    onCleanup(() => {
      if (element) track.detach(element);
    });
  });
  // biome-ignore lint/a11y/useMediaCaption: live call audio has no caption track to offer
  return <audio ref={element} autoplay />;
}
