// A minimal, dependency-free SVG chart of lock-out latency (leave → commit) against room size, drawn
// on log–log axes so that our sub-second figures and the multi-second waits of other systems fit on
// one picture. Pure: data in, SVG text out.

export interface LockoutPoint {
  participants: number;
  p50: number;
  p95: number;
}

export interface ReferenceLine {
  label: string;
  ms: number;
}

/** Published lock-out behaviour of other systems (issues 6 and 12), drawn as dashed horizontal lines. */
export const OTHER_SYSTEMS: readonly ReferenceLine[] = [
  { label: "Element Call: 1 s + delivery", ms: 1_000 },
  { label: "Discord DAVE: ~2 s", ms: 2_000 },
  { label: "Signal, Jitsi: 5 s", ms: 5_000 },
  { label: "Wire (original): ≤ 30 s tick", ms: 30_000 },
];

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 72, right: 200, top: 48, bottom: 56 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function fixed(value: number): string {
  return value.toFixed(1);
}

export function renderLockoutChart(
  points: readonly LockoutPoint[],
  references: readonly ReferenceLine[] = OTHER_SYSTEMS,
  title = "Lock-out latency after a leave (leave → every member on the fresh key)",
): string {
  if (points.length === 0) throw new Error("the chart needs at least one point");
  const sorted = [...points].sort((a, b) => a.participants - b.participants);
  const ns = sorted.map((p) => p.participants);
  const xMin = Math.log10(Math.min(...ns) / 1.6);
  const xMax = Math.log10(Math.max(...ns) * 1.6);
  const values = [...sorted.flatMap((p) => [p.p50, p.p95]), ...references.map((r) => r.ms)];
  const positive = values.filter((v) => v > 0);
  const yMinExp = Math.floor(Math.log10(Math.max(1, Math.min(...positive))));
  const yMaxExp = Math.ceil(Math.log10(Math.max(...positive) * 1.5));
  const x = (n: number) => MARGIN.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * PLOT_W;
  const y = (ms: number) =>
    MARGIN.top +
    PLOT_H -
    ((Math.log10(Math.max(ms, 10 ** yMinExp)) - yMinExp) / (yMaxExp - yMinExp)) * PLOT_H;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  );
  // Axes.
  const left = MARGIN.left;
  const bottom = MARGIN.top + PLOT_H;
  const right = MARGIN.left + PLOT_W;
  parts.push(
    `<line x1="${left}" y1="${MARGIN.top}" x2="${left}" y2="${bottom}" stroke="#000"/>`,
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000"/>`,
  );
  for (let exp = yMinExp; exp <= yMaxExp; exp++) {
    const ms = 10 ** exp;
    const yy = fixed(y(ms));
    parts.push(
      `<line x1="${left}" y1="${yy}" x2="${right}" y2="${yy}" stroke="#e5e5e5"/>`,
      `<line x1="${left - 4}" y1="${yy}" x2="${left}" y2="${yy}" stroke="#000"/>`,
      `<text x="${left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${formatMs(ms)}</text>`,
    );
  }
  for (const n of ns) {
    const xx = fixed(x(n));
    parts.push(
      `<line x1="${xx}" y1="${bottom}" x2="${xx}" y2="${bottom + 4}" stroke="#000"/>`,
      `<text x="${xx}" y="${bottom + 18}" text-anchor="middle">${n}</text>`,
    );
  }
  parts.push(
    `<text x="${left + PLOT_W / 2}" y="${HEIGHT - 14}" text-anchor="middle">participants in the call (N, log scale)</text>`,
    `<text transform="translate(18 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`,
  );
  // Other systems.
  for (const reference of references) {
    const yy = fixed(y(reference.ms));
    parts.push(
      `<line x1="${left}" y1="${yy}" x2="${right}" y2="${yy}" stroke="#b45309" stroke-dasharray="6 4"/>`,
      `<text x="${right + 6}" y="${yy}" dominant-baseline="middle" fill="#b45309">${escapeXml(reference.label)}</text>`,
    );
  }
  // Our series.
  const series = [
    { key: "p95" as const, label: "Hush p95", color: "#1d4ed8" },
    { key: "p50" as const, label: "Hush p50", color: "#059669" },
  ];
  for (const [index, s] of series.entries()) {
    const path = sorted.map((p) => `${fixed(x(p.participants))},${fixed(y(p[s.key]))}`).join(" ");
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of sorted) {
      const cx = fixed(x(p.participants));
      const cy = fixed(y(p[s.key]));
      const dy = s.key === "p95" ? -8 : 16;
      parts.push(
        `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"/>`,
        `<text x="${cx}" y="${fixed(y(p[s.key]) + dy)}" text-anchor="middle" fill="${s.color}">${escapeXml(formatMs(Math.round(p[s.key])))}</text>`,
      );
    }
    const ly = MARGIN.top + 8 + index * 18;
    parts.push(
      `<line x1="${right + 6}" y1="${ly}" x2="${right + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${right + 32}" y="${ly}" dominant-baseline="middle">${s.label}</text>`,
    );
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
