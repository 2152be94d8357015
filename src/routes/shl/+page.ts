// Prerendered as its own shell (build/shl.html), so the page's own modules are preloaded with
// the app's instead of after it: the viewer opens faster on a doctor's phone.
export const prerender = true;
