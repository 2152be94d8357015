/**
 * Structured logs: one JSON object per line on stdout, which any collector can index. The
 * relay handles only ciphertext, but ids and sizes still say who syncs with whom, so log
 * lines carry shortened ids (enough to follow one vault or device through the logs, too
 * short to name it) and never a payload: callers pass scalar fields only, and long strings
 * are cut.
 */

/** Severity, lowest first. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

/** What a log line may carry besides its message. `vault`, `member` and `blob` are shortened. */
export type LogFields = Record<string, string | number | boolean | undefined>;

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
/** Fields holding an id, cut to `ID_CHARS` characters. */
const ID_FIELDS = new Set(['vault', 'member', 'blob']);
const ID_CHARS = 8;
/** Longest string value kept whole: an error message, never a blob. */
const MAX_STRING = 200;

/** A logger writing lines at `min` and above. */
export interface Logger {
	debug(msg: string, fields?: LogFields): void;
	info(msg: string, fields?: LogFields): void;
	warn(msg: string, fields?: LogFields): void;
	error(msg: string, fields?: LogFields): void;
}

/** A logger that writes each line with `write` (stdout by default) from level `min` on. */
export function createLogger(min: Level = 'info', write = (line: string) => void process.stdout.write(line + '\n')): Logger {
	const threshold = LEVELS.indexOf(min);
	const emit = (level: Level) => (msg: string, fields: LogFields = {}) => {
		if (LEVELS.indexOf(level) < threshold) return;
		const line: Record<string, string | number | boolean> = { time: new Date().toISOString(), level, msg };
		for (const [key, value] of Object.entries(fields)) {
			if (value === undefined) continue;
			line[key] =
				typeof value !== 'string' ? value : ID_FIELDS.has(key) ? value.slice(0, ID_CHARS) : value.slice(0, MAX_STRING);
		}
		write(JSON.stringify(line));
	};
	return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Reads LOG_LEVEL (default info); an unknown value falls back to info. */
export function levelFromEnv(value: string | undefined): Level {
	return LEVELS.includes(value as Level) ? (value as Level) : 'info';
}
