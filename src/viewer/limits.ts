/**
 * Bounds the server enforces on the page's requests, in a module of their own so the page (which
 * must not bundle the server) can keep within them.
 */

/** The widest timeline, in pixels, the server draws: a wider window is drawn at this width and scaled. */
export const TIMELINE_WIDTH_MAX = 8192;
