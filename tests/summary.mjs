// Sums vitest's JSON reports into the one closing line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

const [dir, checkStatus] = process.argv.slice(2);
let passed = 0;
let failed = Number(checkStatus) === 0 ? 0 : 1;
let skipped = 0;
for (const name of ['unit.json', 'e2e.json']) {
	const file = `${dir}/${name}`;
	if (!existsSync(file)) {
		failed += 1; // a suite that did not report is a failure, not a silent pass
		continue;
	}
	const report = JSON.parse(readFileSync(file, 'utf8'));
	passed += report.numPassedTests;
	failed += report.numFailedTests + (report.numFailedTestSuites ?? 0);
	skipped += report.numPendingTests + (report.numTodoTests ?? 0);
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
