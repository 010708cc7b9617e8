// How much video the camera captures: "low" (192x108 at 12 fps, the page's ?video=low, which the
// end-to-end suite uses to run three calls on two cores) or "normal". It is a capture setting, so it
// belongs to the media layer; the app's settings read it from the page and pass it down.
export type VideoQuality = "low" | "normal";
