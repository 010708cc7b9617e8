// The app runs under a Content-Security-Policy without 'unsafe-eval' (worker/src/security-headers.ts).
// zod compiles its object parsers with `new Function` unless told not to, probing first whether it
// may: under the policy the probe fails harmlessly but is reported as a violation every time. This
// turns the compilation off before anything parses, in the page and in the E2EE worker alike.
import { config } from "zod";

config({ jitless: true });
