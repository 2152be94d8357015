// `npm run bench`: every benchmark, one JSON line per figure (a median unless named p99).
import { benchRecordChromium } from './chromium-record';
import { benchRecord } from './record';

for (const bench of [benchRecord, benchRecordChromium]) {
	for (const figure of await bench()) console.log(JSON.stringify(figure));
}
