// Pure: where each tile of the call goes on the stage. The stage's measured size, the tiles in
// display order and the chosen layout give one rectangle per tile shown on the current page:
// - "grid": every tile the same 16:9 size, the number of columns chosen so that tiles are as large
//   as the stage allows;
// - "speaker": one featured tile (the active speaker or a screen share) as large as fits above a
//   strip of small tiles for everyone else.
// Tiles that would be smaller than MIN_TILE go to further pages. A tile off the page gets no
// rectangle: it is not shown, and livekit's adaptive stream then stops receiving its video.

export interface Size {
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type LayoutMode = "grid" | "speaker";

export const TILE_ASPECT = 16 / 9;
/** Space between tiles, in CSS pixels. */
export const TILE_GAP = 8;
/** The smallest tile still worth showing: its name and crypto chips stay readable on two lines. */
export const MIN_TILE: Size = { width: 160, height: 90 };
/** The speaker layout's strip takes this share of the stage's height (at least MIN_TILE high). */
const STRIP_SHARE = 0.2;

export interface LayoutInput {
  /** Tile keys in display order. */
  keys: readonly string[];
  stage: Size;
  mode: LayoutMode;
  /** The speaker layout's large tile; the first tile when absent or unknown. */
  featured?: string;
  /** The page asked for, from 0; clamped to the pages there are. */
  page: number;
}

export interface Layout {
  /** The layout actually used: "speaker" falls back to "grid" on a stage too short for a strip. */
  mode: LayoutMode;
  /** Rectangles of the tiles shown on this page, relative to the stage's top left corner. */
  frames: ReadonlyMap<string, Rect>;
  featured: string | undefined;
  page: number;
  pages: number;
  /** Tiles per page (in the speaker layout: strip tiles per page). */
  perPage: number;
}

/** How many columns and rows fit `count` 16:9 tiles into `area` at the largest tile size. */
export function bestGrid(count: number, area: Size): { columns: number; rows: number; tile: Size } {
  let best = { columns: 1, rows: Math.max(count, 1), tile: { width: 0, height: 0 } };
  for (let columns = 1; columns <= Math.max(count, 1); columns += 1) {
    const rows = Math.ceil(count / columns);
    const cellWidth = (area.width - (columns - 1) * TILE_GAP) / columns;
    const cellHeight = (area.height - (rows - 1) * TILE_GAP) / rows;
    const width = Math.floor(Math.max(0, Math.min(cellWidth, cellHeight * TILE_ASPECT)));
    if (width > best.tile.width) {
      best = { columns, rows, tile: { width, height: Math.floor(width / TILE_ASPECT) } };
    }
  }
  return best;
}

/** The most tiles `area` holds without any of them falling below MIN_TILE (at least one). */
export function tilesPerPage(area: Size): number {
  const columns = Math.floor((area.width + TILE_GAP) / (MIN_TILE.width + TILE_GAP));
  const rows = Math.floor((area.height + TILE_GAP) / (MIN_TILE.height + TILE_GAP));
  return Math.max(1, columns) * Math.max(1, rows);
}

function pageCount(count: number, perPage: number): number {
  return Math.max(1, Math.ceil(count / perPage));
}

function clampPage(page: number, pages: number): number {
  return Math.min(Math.max(0, Math.floor(page)), pages - 1);
}

/** Rows of equal tiles, centred in `area`; a short last row is centred too. */
function placeGrid(keys: readonly string[], area: Rect, frames: Map<string, Rect>) {
  const { columns, rows, tile } = bestGrid(keys.length, area);
  const height = rows * tile.height + (rows - 1) * TILE_GAP;
  const top = area.y + Math.floor((area.height - height) / 2);
  keys.forEach((key, i) => {
    const row = Math.floor(i / columns);
    const inRow = Math.min(columns, keys.length - row * columns);
    const width = inRow * tile.width + (inRow - 1) * TILE_GAP;
    const left = area.x + Math.floor((area.width - width) / 2);
    frames.set(key, {
      x: left + (i % columns) * (tile.width + TILE_GAP),
      y: top + row * (tile.height + TILE_GAP),
      width: tile.width,
      height: tile.height,
    });
  });
}

function gridLayout(input: LayoutInput): Layout {
  const perPage = tilesPerPage(input.stage);
  const pages = pageCount(input.keys.length, perPage);
  const page = clampPage(input.page, pages);
  const shown = input.keys.slice(page * perPage, (page + 1) * perPage);
  const frames = new Map<string, Rect>();
  placeGrid(shown, { x: 0, y: 0, ...input.stage }, frames);
  return { mode: "grid", frames, featured: undefined, page, pages, perPage };
}

function speakerLayout(input: LayoutInput, featured: string): Layout | undefined {
  const { width, height } = input.stage;
  const others = input.keys.filter((key) => key !== featured);
  const frames = new Map<string, Rect>();
  if (others.length === 0) {
    placeGrid([featured], { x: 0, y: 0, width, height }, frames);
    return { mode: "speaker", frames, featured, page: 0, pages: 1, perPage: 1 };
  }
  const stripHeight = Math.max(MIN_TILE.height, Math.floor(height * STRIP_SHARE));
  const mainHeight = height - stripHeight - TILE_GAP;
  // The featured tile must stay larger than the strip's, or the layout says nothing.
  if (mainHeight < stripHeight) return undefined;
  const strip = { width: Math.floor(stripHeight * TILE_ASPECT), height: stripHeight };
  if (strip.width > width) return undefined;
  const perPage = Math.max(1, Math.floor((width + TILE_GAP) / (strip.width + TILE_GAP)));
  const pages = pageCount(others.length, perPage);
  const page = clampPage(input.page, pages);
  const shown = others.slice(page * perPage, (page + 1) * perPage);
  placeGrid([featured], { x: 0, y: 0, width, height: mainHeight }, frames);
  const stripWidth = shown.length * strip.width + (shown.length - 1) * TILE_GAP;
  const left = Math.floor((width - stripWidth) / 2);
  shown.forEach((key, i) => {
    frames.set(key, {
      x: left + i * (strip.width + TILE_GAP),
      y: height - stripHeight,
      ...strip,
    });
  });
  return { mode: "speaker", frames, featured, page, pages, perPage };
}

export function layoutTiles(input: LayoutInput): Layout {
  if (input.mode === "speaker" && input.keys.length > 0) {
    const featured =
      input.featured !== undefined && input.keys.includes(input.featured)
        ? input.featured
        : (input.keys[0] as string);
    const layout = speakerLayout(input, featured);
    if (layout) return layout;
  }
  return gridLayout(input);
}
