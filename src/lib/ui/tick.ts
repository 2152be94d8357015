/** Resolves after the browser has painted, so a busy state shows before a blocking
 * computation (Argon2id runs on the main thread for ~0.2-1 s). Never waits more than
 * 100 ms (animation frames do not fire in a hidden tab). */
export function afterPaint(): Promise<void> {
	return new Promise((resolve) => {
		let done = false;
		const finish = () => {
			if (!done) {
				done = true;
				setTimeout(resolve, 0);
			}
		};
		requestAnimationFrame(() => requestAnimationFrame(finish));
		setTimeout(finish, 100);
	});
}

/** Picks `count` distinct indices in [0, length), sorted, with the CSPRNG. */
export function pickIndices(length: number, count: number): number[] {
	const chosen = new Set<number>();
	const buffer = new Uint32Array(1);
	while (chosen.size < Math.min(count, length)) {
		crypto.getRandomValues(buffer);
		chosen.add(buffer[0] % length);
	}
	return [...chosen].sort((a, b) => a - b);
}
