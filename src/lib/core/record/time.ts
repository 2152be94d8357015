/**
 * Dates as the record stores them. Instants (`createdAt`, activity `at`) are UTC ISO strings so
 * devices in different zones sort them alike; "today" is the patient's local calendar day,
 * because that is what a date typed into a form means.
 */

/** `YYYY-MM-DD` of `now` in the local time zone. */
export function localDay(now: Date): string {
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** `YYYY-MM` of an ISO instant: the activity log's bucket. */
export function monthOf(instant: string): string {
	return instant.slice(0, 7);
}
