// The stage: every tile of the call placed by the pure layout (app/gridLayout.ts) on the space the
// stage really has (measured with a ResizeObserver), with the grid / speaker layout switch and the
// page buttons when not every tile fits at a readable size.
import { createMemo, createSignal, For, onCleanup, onMount, Show } from "solid-js";
import { featuredTile } from "../app/activeSpeaker";
import { type LayoutMode, layoutTiles, type Size } from "../app/gridLayout";
import type { FloatingReaction } from "../app/chatView";
import type { TileModel } from "../app/tiles";
import { VideoTile } from "./VideoTile";

export function CallStage(props: {
  tiles: TileModel[];
  reactions: FloatingReaction[];
  hands: readonly string[];
}) {
  let stage: HTMLDivElement | undefined;
  const [size, setSize] = createSignal<Size>({ width: 0, height: 0 });
  const [mode, setMode] = createSignal<LayoutMode>("grid");
  const [page, setPage] = createSignal(0);
  onMount(() => {
    if (!stage || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => {
      if (!entry) return;
      const { width, height } = entry.contentRect;
      setSize({ width: Math.floor(width), height: Math.floor(height) });
    });
    observer.observe(stage);
    onCleanup(() => observer.disconnect());
  });

  const tileByKey = createMemo(() => new Map(props.tiles.map((tile) => [tile.key, tile])));
  // Keyed by tile key (a string), so a tile and its media elements live as long as the participant
  // does instead of being rebuilt on every update or when it moves to another page.
  const tileKeys = createMemo(() => props.tiles.map((tile) => tile.key), [], {
    equals: (a, b) => a.length === b.length && a.every((key, i) => key === b[i]),
  });
  const featured = createMemo<string | undefined>((previous) =>
    featuredTile(props.tiles, previous),
  );
  const layout = createMemo(() =>
    layoutTiles({
      keys: tileKeys(),
      stage: size(),
      mode: mode(),
      featured: featured(),
      page: page(),
    }),
  );
  const turnPage = (step: number) => {
    const next = layout().page + step;
    if (next >= 0 && next < layout().pages) setPage(next);
  };

  return (
    <section class="stage-area" aria-label="Participants' video">
      <div class="stage-bar">
        <fieldset class="layout-switch">
          <legend class="sr-only">Layout</legend>
          <For each={["grid", "speaker"] as const}>
            {(choice) => (
              <button
                type="button"
                class="btn small"
                aria-pressed={mode() === choice}
                onClick={() => setMode(choice)}
              >
                {choice === "grid" ? "Grid" : "Speaker"}
              </button>
            )}
          </For>
        </fieldset>
        <Show when={layout().pages > 1}>
          <nav class="pager" aria-label="Video pages">
            {/* aria-disabled rather than disabled: a disabled button would drop keyboard focus. */}
            <button
              type="button"
              class="btn small"
              aria-label="Previous page"
              aria-disabled={layout().page === 0}
              onClick={() => turnPage(-1)}
            >
              ‹
            </button>
            <span role="status" aria-live="polite">
              Page {layout().page + 1} of {layout().pages}
            </span>
            <button
              type="button"
              class="btn small"
              aria-label="Next page"
              aria-disabled={layout().page === layout().pages - 1}
              onClick={() => turnPage(1)}
            >
              ›
            </button>
          </nav>
        </Show>
      </div>
      <div
        ref={stage}
        class="stage"
        data-layout={layout().mode}
        data-page={layout().page}
        data-pages={layout().pages}
      >
        <For each={tileKeys()}>
          {(key) => (
            <Show when={tileByKey().get(key)}>
              {(tile) => (
                <VideoTile
                  tile={tile()}
                  frame={layout().frames.get(key)}
                  featured={layout().featured === key}
                  reactions={
                    tile().screen
                      ? []
                      : props.reactions.filter((r) => r.from === tile().participantId)
                  }
                  handRaised={!tile().screen && props.hands.includes(tile().participantId)}
                />
              )}
            </Show>
          )}
        </For>
      </div>
    </section>
  );
}
