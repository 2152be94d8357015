// `npm run bench`: every benchmark, one JSON line per figure (a median unless named p99).
import { benchAttachments } from './attachments';
import { benchAttachmentsRoundtrip } from './attachments-roundtrip';
import { benchRecordChromium } from './chromium-record';
import { benchDocumentsBrowser } from './documents-browser';
import type { Figure } from './figure';
import { benchRecord } from './record';
import { benchRelay } from './relay';
import { benchShare } from './share';
import { benchSync } from './sync';

const figures = new Map<string, Figure>();
for (const bench of [benchRecord, benchRecordChromium, benchSync, benchRelay, benchShare, benchAttachments, benchAttachmentsRoundtrip, benchDocumentsBrowser]) {
	for (const figure of await bench()) {
		figures.set(figure.figure, figure);
		console.log(JSON.stringify(figure));
	}
}

// Ours against plain automerge-repo sync, both measured above in this same run.
const ours = figures.get('sync_latency_p50_ms');
const plain = figures.get('plain_sync_latency_p50_ms');
if (ours && plain) {
	console.log(
		JSON.stringify({
			figure: 'sync_latency_ratio_to_plain',
			value: Number((ours.value / plain.value).toFixed(2)),
			unit: 'ratio',
			target: 1.5,
			details: { sync_latency_p50_ms: ours.value, plain_sync_latency_p50_ms: plain.value }
		})
	);
}
