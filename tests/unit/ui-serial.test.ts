// serial(): the lists of devices and people reload one at a time, never missing a request.
import { describe, expect, it } from 'vitest';
import { serial } from '../../src/lib/ui/serial';

describe('serial', () => {
	it('runs once more after a run when called during it, however many calls came', async () => {
		let runs = 0;
		let release: () => void = () => undefined;
		const load = serial(async () => {
			runs += 1;
			if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
		});
		const first = load();
		const second = load();
		const third = load();
		expect(runs).toBe(1);
		release();
		await Promise.all([first, second, third]);
		expect(runs).toBe(2);
		await load();
		expect(runs).toBe(3);
	});

	it('lets the next call run after a failure', async () => {
		let fail = true;
		let runs = 0;
		const load = serial(async () => {
			runs += 1;
			if (fail) throw new Error('boom');
		});
		await expect(load()).rejects.toThrow('boom');
		fail = false;
		await load();
		expect(runs).toBe(2);
	});
});
