/**
 * Wall-clock times ↔ FHIR dateTimes.
 *
 * The record stores what the patient read on a clock ("2026-03-04T10:30", no zone) because
 * that is what a form gives and what the patient means. FHIR wants a dateTime with a time to
 * carry its offset, so on the way out the wall-clock time is written with the offset that the
 * patient's IANA time zone had at that instant (Intl knows every zone's history); on the way
 * in, a dateTime whose offset is the one this module would have written for its wall-clock
 * part is read as that wall-clock time (so Carnet's own bundles round-trip exactly, even a
 * time in the hour skipped when clocks go forward, or under a historical offset with seconds
 * that FHIR's ±hh:mm cannot carry); any other instant is converted to the zone's wall clock.
 * Plain dates stay plain FHIR dates: they name a calendar day, not an instant.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
	let f = formatters.get(timeZone);
	if (f === undefined) {
		f = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit'
		});
		formatters.set(timeZone, f);
	}
	return f;
}

/** Wall-clock parts of an instant in a zone. */
function wallParts(ms: number, timeZone: string): number[] {
	const parts: Record<string, number> = {};
	for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
		if (p.type !== 'literal') parts[p.type] = Number(p.value);
	}
	return [parts.year, parts.month, parts.day, parts.hour % 24, parts.minute, parts.second];
}

/** The zone's offset from UTC at an instant, in minutes (Paris in winter: 60). */
export function offsetMinutes(ms: number, timeZone: string): number {
	const whole = Math.floor(ms / 1000) * 1000;
	const [y, mo, d, h, mi, s] = wallParts(whole, timeZone);
	return Math.round((Date.UTC(y, mo - 1, d, h, mi, s) - whole) / 60000);
}

function formatOffset(minutes: number): string {
	const sign = minutes < 0 ? '-' : '+';
	const abs = Math.abs(minutes);
	return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * "2026-03-04T10:30" (wall clock in `timeZone`) → "2026-03-04T10:30:00+01:00". Anything that is
 * not a wall-clock date-time is returned as it is (a date stays a date).
 */
export function localToFhir(local: string, timeZone: string): string {
	const m = LOCAL.exec(local);
	if (!m) return local;
	const [, y, mo, d, h, mi, s] = m;
	const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, s === undefined ? 0 : +s);
	const first = offsetMinutes(wall, timeZone);
	let offset = first;
	const second = offsetMinutes(wall - first * 60000, timeZone);
	if (second !== first && offsetMinutes(wall - second * 60000, timeZone) === second) offset = second;
	return `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${formatOffset(offset)}`;
}

/** An instant written with the zone's offset at that instant, to the second. */
export function instantInZone(at: Date, timeZone: string): string {
	const ms = Math.floor(at.getTime() / 1000) * 1000;
	const [y, mo, d, h, mi, s] = wallParts(ms, timeZone);
	return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${formatOffset(offsetMinutes(ms, timeZone))}`;
}

const FHIR_DATETIME =
	/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/;
const FHIR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A FHIR date or dateTime → the record's wall-clock "YYYY-MM-DDTHH:mm[:ss]" in `timeZone`
 * (seconds only when not zero). A full date reads as midnight; a partial date ("2015-03") or
 * anything else gives `undefined`.
 */
export function fhirToLocal(value: string, timeZone: string): string | undefined {
	if (FHIR_DATE.test(value)) return `${value}T00:00`;
	const m = FHIR_DATETIME.exec(value);
	if (!m) return undefined;
	const [, y, mo, d, h, mi, s, zone] = m;
	const seconds = s === undefined ? 0 : +s;
	let parts = [+y, +mo, +d, +h, +mi, seconds];
	const written = `${y}-${mo}-${d}T${h}:${mi}:${pad(seconds)}`;
	const ours = zone === undefined ? undefined : localToFhir(written, timeZone).slice(19);
	if (zone !== undefined && ours !== (zone === 'Z' ? '+00:00' : zone)) {
		const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6));
		const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, seconds) - offset * 60000;
		if (Number.isNaN(ms)) return undefined;
		parts = wallParts(ms, timeZone);
	}
	const [py, pmo, pd, ph, pmi, ps] = parts;
	return `${pad(py, 4)}-${pad(pmo)}-${pad(pd)}T${pad(ph)}:${pad(pmi)}${ps === 0 ? '' : `:${pad(ps)}`}`;
}

/**
 * A FHIR date or dateTime → its calendar day "YYYY-MM-DD" in `timeZone`; `undefined` for a
 * partial date or anything unreadable.
 */
export function fhirToDay(value: string, timeZone: string): string | undefined {
	return fhirToLocal(value, timeZone)?.slice(0, 10);
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
	try {
		formatter(timeZone);
		return true;
	} catch {
		return false;
	}
}
