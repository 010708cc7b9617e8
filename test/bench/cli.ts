// Command-line flags of `npm run bench`. Unknown flags are an error, not silently ignored, so a typo
// never produces a benchmark of something other than what was asked for.

export interface BenchOptions {
  quick: boolean;
  /** Extra copy of the JSON results. */
  jsonFile: string | null;
  /** Where latest.json, README-table.md and lockout.svg go. */
  outDir: string;
  media: boolean;
  /** Run only the abuse section (issue 10); writes abuse.json and abuse-table.md. */
  abuseOnly: boolean;
  /** Run only the recovery section (issue 15); writes recovery.json and recovery-table.md. */
  recoveryOnly: boolean;
  /** Run only the signalling section; writes signalling.json and signalling-table.md. */
  signallingOnly: boolean;
  /** Run only the media section; writes media.json and media-table.md. */
  mediaOnly: boolean;
  /** Node processes the signalling section's clients run in (the key leader alone in one). */
  hosts: number;
  /** Room sizes of the signalling section, instead of the plan's. */
  sizes: number[] | null;
}

/**
 * Client processes by default: the leader alone in one and the others in three, so that on this
 * 2-core machine no process has more than a third of the members yet workerd keeps a core's share.
 */
export const DEFAULT_HOSTS = 4;

export const USAGE = `usage: npm run bench -- [--quick] [--json FILE] [--out DIR] [--no-media]
  --quick      reduced set (smaller rooms, fewer samples, short churn, no media), under 2 minutes
  --json FILE  also write the JSON results to FILE
  --out DIR    directory for latest.json, README-table.md and lockout.svg
               (default: test/bench/results, or bench-results/ with --quick)
  --no-media   skip the Chromium + LiveKit media and recovery parts
  --media      run the media part with --quick too (it needs several minutes of four browsers)
  --abuse-only only the abuse section (issue 10): abuse.json and abuse-table.md in DIR
  --recovery-only
               only the recovery section (issue 15): recovery.json and recovery-table.md in DIR
  --signalling-only
               only the signalling section: signalling.json and signalling-table.md in DIR
  --media-only only the media section: media.json and media-table.md in DIR
  --hosts K    run the signalling section's clients in K Node processes, the key leader alone in
               the first, plus one for the join samples' joiners (default ${DEFAULT_HOSTS}; 1 puts
               every client in one process)
  --sizes LIST the signalling section's room sizes, comma-separated (e.g. 200; each at least 3)`;

export function parseArgs(argv: readonly string[]): BenchOptions {
  let quick = false;
  let jsonFile: string | null = null;
  let outDir: string | null = null;
  let media: boolean | null = null;
  let abuseOnly = false;
  let recoveryOnly = false;
  let signallingOnly = false;
  let mediaOnly = false;
  let hosts = DEFAULT_HOSTS;
  let sizes: number[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "--quick":
        quick = true;
        break;
      case "--json":
        jsonFile = value();
        break;
      case "--out":
        outDir = value();
        break;
      case "--no-media":
        media = false;
        break;
      case "--media":
        media = true;
        break;
      case "--abuse-only":
        abuseOnly = true;
        break;
      case "--recovery-only":
        recoveryOnly = true;
        break;
      case "--signalling-only":
        signallingOnly = true;
        break;
      case "--media-only":
        mediaOnly = true;
        break;
      case "--hosts":
        hosts = wholeNumber(arg, value(), 1);
        break;
      case "--sizes":
        sizes = value()
          .split(",")
          .map((size) => wholeNumber(arg, size, 3));
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return {
    quick,
    jsonFile,
    outDir: outDir ?? (quick ? "bench-results" : "test/bench/results"),
    media: media ?? !quick,
    abuseOnly,
    recoveryOnly,
    signallingOnly,
    mediaOnly,
    hosts,
    sizes,
  };
}

function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${flag} needs whole numbers of at least ${min}, got ${text}`);
  }
  return value;
}
