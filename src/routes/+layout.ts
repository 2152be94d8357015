// A static SPA: nothing is rendered on a server, all logic runs in the browser.
export const ssr = false;
export const prerender = false;
