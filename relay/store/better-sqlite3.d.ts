/**
 * The part of better-sqlite3's API the relay uses. The package ships no types and
 * @types/better-sqlite3 is not a dependency; this is the subset, typed from its documentation
 * (https://github.com/WiseLibs/better-sqlite3/blob/master/docs/api.md).
 */
declare module 'better-sqlite3' {
	namespace Database {
		/** What `run` reports. */
		interface RunResult {
			changes: number;
			lastInsertRowid: number | bigint;
		}
		/** A prepared statement; parameters bind positionally or by `@name` from one object. */
		interface Statement {
			run(...params: unknown[]): RunResult;
			get(...params: unknown[]): unknown;
			all(...params: unknown[]): unknown[];
			/** Makes `get` and `all` return the first column only. */
			pluck(toggle?: boolean): this;
		}
		/** `db.transaction(fn)`: runs `fn` in BEGIN … COMMIT, rolling back on a throw. */
		interface Transaction<F extends (...args: never[]) => unknown> {
			(...args: Parameters<F>): ReturnType<F>;
			/** The same in BEGIN IMMEDIATE: takes the write lock up front. */
			immediate(...args: Parameters<F>): ReturnType<F>;
		}
		/** Constructor options. */
		interface Options {
			readonly?: boolean;
			fileMustExist?: boolean;
			/** Busy timeout in milliseconds (default 5000). */
			timeout?: number;
		}
	}
	/** One connection to an SQLite database file. */
	class Database {
		constructor(filename: string, options?: Database.Options);
		readonly open: boolean;
		/** True while a transaction is open (false once SQLite rolled one back on its own). */
		readonly inTransaction: boolean;
		prepare(sql: string): Database.Statement;
		exec(sql: string): this;
		pragma(source: string, options?: { simple?: boolean }): unknown;
		transaction<F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F>;
		close(): this;
	}
	export = Database;
}
