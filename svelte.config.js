import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		// A static SPA: every page runs in the browser; the relay serves index.html for any path.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: true, strict: true }),
		// The service worker is registered by the app so that it can skip it in dev.
		serviceWorker: { register: false },
		// Absolute asset paths: the cached index.html must work as the offline shell of any route.
		paths: { relative: false },
		// The prerendered viewer (/shl) carries its small stylesheets inline: no request for the
		// page to wait on before it can show the form on a doctor's phone.
		inlineStyleThreshold: 16 * 1024
	}
};
