// `npm run bench`: every benchmark, one JSON line per figure (a median unless named p99).
import { benchRecordChromium } from './chromium-record';
import { benchRecord } from './record';
import { benchRelay } from './relay';
import { benchSync } from './sync';

for (const bench of [benchRecord, benchRecordChromium, benchSync, benchRelay]) {
	for (const figure of await bench()) console.log(JSON.stringify(figure));
}
