// One run of an async task at a time: a call during a run makes exactly one more run after it
// (so the last call always sees the latest state), however many calls came meanwhile.
export function serial(task: () => Promise<void>): () => Promise<void> {
	let running: Promise<void> | null = null;
	let again = false;
	return async () => {
		if (running) {
			again = true;
			return running;
		}
		running = (async () => {
			try {
				do {
					again = false;
					await task();
				} while (again);
			} finally {
				running = null;
			}
		})();
		return running;
	};
}
