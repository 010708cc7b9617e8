// Latency summaries for the benchmark report. Percentiles use the nearest-rank method (the smallest
// sample with at least p% of the samples at or below it), so every reported figure is a latency that
// was actually observed, never an interpolation between two runs.

export interface Percentiles {
  p50: number;
  p95: number;
}

export interface Summary extends Percentiles {
  samples: number;
  min: number;
  max: number;
  mean: number;
}

/** The nearest-rank p-th percentile (0 < p <= 100) of a non-empty sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error("percentile of an empty sample");
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1] as number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("summary of an empty sample");
  let sum = 0;
  for (const value of samples) sum += value;
  return {
    samples: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    min: Math.min(...samples),
    max: Math.max(...samples),
    mean: sum / samples.length,
  };
}

/** Rounds a latency for the report: whole ms from 10 ms up, one decimal below. */
export function roundMs(ms: number): number {
  return ms >= 10 ? Math.round(ms) : Math.round(ms * 10) / 10;
}
