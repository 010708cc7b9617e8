// The stage layout (web/src/app/gridLayout.ts) over many stage sizes and tile counts: tiles stay
// inside the stage, never overlap, keep 16:9, are never below the minimum size when the stage can
// hold one, fill a large share of the stage, and every tile is on exactly one page.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bestGrid,
  type Layout,
  layoutTiles,
  MIN_TILE,
  type Rect,
  type Size,
  TILE_ASPECT,
  tilesPerPage,
} from "../../web/src/app/gridLayout";

const keysOf = (count: number) => Array.from({ length: count }, (_, i) => `p${i}`);

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function expectInsideAndApart(layout: Layout, stage: Size) {
  const frames = [...layout.frames.values()];
  for (const frame of frames) {
    expect(frame.x).toBeGreaterThanOrEqual(0);
    expect(frame.y).toBeGreaterThanOrEqual(0);
    expect(frame.x + frame.width).toBeLessThanOrEqual(stage.width);
    expect(frame.y + frame.height).toBeLessThanOrEqual(stage.height);
    // 16:9 up to the rounding to whole pixels.
    expect(Math.abs(frame.width / TILE_ASPECT - frame.height)).toBeLessThanOrEqual(1);
  }
  frames.forEach((a, i) => {
    for (const b of frames.slice(i + 1)) expect(overlaps(a, b), JSON.stringify([a, b])).toBe(false);
  });
}

const area = (rect: Size) => rect.width * rect.height;

const stages = fc.record({
  width: fc.integer({ min: MIN_TILE.width, max: 3000 }),
  height: fc.integer({ min: MIN_TILE.height, max: 2000 }),
});

describe("the grid layout", () => {
  it("fills a 16:9 stage with one tile, and a 2x2 grid with four", () => {
    const one = layoutTiles({
      keys: ["a"],
      stage: { width: 1600, height: 900 },
      mode: "grid",
      page: 0,
    });
    expect(one.frames.get("a")).toEqual({ x: 0, y: 0, width: 1600, height: 900 });
    const four = layoutTiles({
      keys: keysOf(4),
      stage: { width: 1608, height: 908 },
      mode: "grid",
      page: 0,
    });
    expect([...four.frames.values()]).toEqual([
      { x: 0, y: 0, width: 800, height: 450 },
      { x: 808, y: 0, width: 800, height: 450 },
      { x: 0, y: 458, width: 800, height: 450 },
      { x: 808, y: 458, width: 800, height: 450 },
    ]);
  });

  it("picks columns by the stage's shape: a row on a wide stage, a column on a tall one", () => {
    expect(bestGrid(3, { width: 3000, height: 400 })).toMatchObject({ columns: 3, rows: 1 });
    expect(bestGrid(3, { width: 400, height: 1200 })).toMatchObject({ columns: 1, rows: 3 });
    expect(bestGrid(6, { width: 1920, height: 720 })).toMatchObject({ columns: 3, rows: 2 });
    // 16:9 tiles on a 5:3 stage: two columns of three beat three columns of two.
    expect(bestGrid(6, { width: 1200, height: 720 })).toMatchObject({ columns: 2, rows: 3 });
  });

  it("centres a short last row", () => {
    const layout = layoutTiles({
      keys: keysOf(3),
      stage: { width: 1000, height: 600 },
      mode: "grid",
      page: 0,
    });
    const [a, b, c] = [...layout.frames.values()] as [Rect, Rect, Rect];
    expect(a.y).toBe(b.y);
    expect(c.y).toBeGreaterThan(a.y);
    expect(c.x).toBe(1000 - (c.x + c.width));
  });

  it("any stage, any count: inside, apart, 16:9, at least the minimum size, most of the stage used", () => {
    fc.assert(
      fc.property(stages, fc.integer({ min: 1, max: 60 }), fc.nat(10), (stage, count, page) => {
        const layout = layoutTiles({ keys: keysOf(count), stage, mode: "grid", page });
        expectInsideAndApart(layout, stage);
        const frames = [...layout.frames.values()];
        expect(frames.length).toBe(Math.min(layout.perPage, count - layout.page * layout.perPage));
        for (const frame of frames) {
          expect(frame.width).toBeGreaterThanOrEqual(MIN_TILE.width - 1);
          expect(frame.height).toBeGreaterThanOrEqual(MIN_TILE.height - 1);
        }
        // No better arrangement was missed: one column more or fewer gives no larger tile.
        const best = bestGrid(frames.length, stage);
        for (const columns of [best.columns - 1, best.columns + 1]) {
          if (columns < 1 || columns > frames.length) continue;
          const rows = Math.ceil(frames.length / columns);
          const width = Math.min(
            (stage.width - (columns - 1) * 8) / columns,
            ((stage.height - (rows - 1) * 8) / rows) * TILE_ASPECT,
          );
          expect(Math.floor(width)).toBeLessThanOrEqual(best.tile.width);
        }
      }),
      { seed: 13, numRuns: 400 },
    );
  });

  it("a full page of a 16:9 stage covers most of it", () => {
    for (const stage of [
      { width: 1280, height: 720 },
      { width: 1920, height: 1080 },
      { width: 880, height: 560 },
    ]) {
      for (const count of [1, 2, 4, 9]) {
        const layout = layoutTiles({ keys: keysOf(count), stage, mode: "grid", page: 0 });
        const used = [...layout.frames.values()].reduce((sum, frame) => sum + area(frame), 0);
        // 2 tiles side by side on a 16:9 stage can use only half of it; every other count more.
        const least = count === 2 ? 0.45 : 0.6;
        expect(used / area(stage), `${count} tiles on ${JSON.stringify(stage)}`).toBeGreaterThan(
          least,
        );
      }
    }
  });

  it("pages: every tile on exactly one page, pages clamped, at least one tile per page", () => {
    fc.assert(
      fc.property(
        fc.record({
          width: fc.integer({ min: 1, max: 1200 }),
          height: fc.integer({ min: 1, max: 800 }),
        }),
        fc.integer({ min: 1, max: 40 }),
        (stage, count) => {
          const keys = keysOf(count);
          const first = layoutTiles({ keys, stage, mode: "grid", page: 0 });
          const seen: string[] = [];
          for (let page = 0; page < first.pages; page += 1) {
            const layout = layoutTiles({ keys, stage, mode: "grid", page });
            expect(layout.page).toBe(page);
            expect(layout.frames.size).toBeGreaterThan(0);
            seen.push(...layout.frames.keys());
          }
          expect(seen).toEqual(keys);
          expect(layoutTiles({ keys, stage, mode: "grid", page: first.pages + 3 }).page).toBe(
            first.pages - 1,
          );
          expect(layoutTiles({ keys, stage, mode: "grid", page: -2 }).page).toBe(0);
        },
      ),
      { seed: 13, numRuns: 200 },
    );
  });

  it("pages only beyond what fits at the minimum tile size", () => {
    // 2 columns and 1 row of 160x90 tiles fit into 400x150.
    expect(tilesPerPage({ width: 400, height: 150 })).toBe(2);
    const layout = layoutTiles({
      keys: keysOf(3),
      stage: { width: 400, height: 150 },
      mode: "grid",
      page: 1,
    });
    expect(layout).toMatchObject({ page: 1, pages: 2, perPage: 2 });
    expect([...layout.frames.keys()]).toEqual(["p2"]);
    // A stage smaller than one minimum tile still shows one tile, as large as fits.
    const tiny = layoutTiles({
      keys: keysOf(2),
      stage: { width: 100, height: 50 },
      mode: "grid",
      page: 0,
    });
    expect(tiny.pages).toBe(2);
    expect(tiny.frames.get("p0")).toEqual({ x: 6, y: 0, width: 88, height: 49 });
    // Not measured yet (0x0): nothing is shown, nothing breaks.
    const unmeasured = layoutTiles({
      keys: keysOf(3),
      stage: { width: 0, height: 0 },
      mode: "grid",
      page: 0,
    });
    expect([...unmeasured.frames.values()].every((frame) => frame.width === 0)).toBe(true);
  });
});

describe("the speaker layout", () => {
  it("shows the featured tile large above a strip of the others", () => {
    const stage = { width: 1200, height: 700 };
    const layout = layoutTiles({
      keys: keysOf(4),
      stage,
      mode: "speaker",
      featured: "p2",
      page: 0,
    });
    expect(layout.mode).toBe("speaker");
    expectInsideAndApart(layout, stage);
    const big = layout.frames.get("p2") as Rect;
    const strip = ["p0", "p1", "p3"].map((key) => layout.frames.get(key) as Rect);
    for (const tile of strip) {
      expect(tile.y).toBeGreaterThanOrEqual(big.y + big.height);
      expect(area(big)).toBeGreaterThan(4 * area(tile));
    }
    expect(area(big) / area(stage)).toBeGreaterThan(0.45);
  });

  it("any stage, any count: inside, apart, featured larger than every strip tile, strip paged", () => {
    fc.assert(
      fc.property(stages, fc.integer({ min: 1, max: 40 }), fc.nat(40), (stage, count, pick) => {
        const keys = keysOf(count);
        const featured = keys[pick % count] as string;
        const first = layoutTiles({ keys, stage, mode: "speaker", featured, page: 0 });
        expectInsideAndApart(first, stage);
        if (first.mode === "grid") {
          // Only a stage too short or too narrow for a strip below the featured tile falls back.
          expect(count > 1).toBe(true);
          return;
        }
        expect(first.featured).toBe(featured);
        const seen = new Set<string>();
        for (let page = 0; page < first.pages; page += 1) {
          const layout = layoutTiles({ keys, stage, mode: "speaker", featured, page });
          expectInsideAndApart(layout, stage);
          const big = layout.frames.get(featured) as Rect;
          expect(big).toBeDefined();
          for (const [key, frame] of layout.frames) {
            if (key !== featured) {
              expect(area(big)).toBeGreaterThanOrEqual(area(frame));
              seen.add(key);
            }
          }
        }
        expect(seen.size).toBe(count - 1);
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it("an unknown featured key features the first tile; a stage too short falls back to the grid", () => {
    const stage = { width: 1200, height: 700 };
    expect(
      layoutTiles({ keys: keysOf(3), stage, mode: "speaker", featured: "gone", page: 0 }).featured,
    ).toBe("p0");
    const short = layoutTiles({
      keys: keysOf(3),
      stage: { width: 1200, height: 150 },
      mode: "speaker",
      featured: "p1",
      page: 0,
    });
    expect(short.mode).toBe("grid");
    expect(short.featured).toBeUndefined();
  });
});
