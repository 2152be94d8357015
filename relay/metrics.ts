/**
 * The relay's counters, served as Prometheus text on `/metrics`. Counts only: no id, no
 * label a client chooses (error codes are a fixed list), so scraping reveals nothing about
 * who uses the relay.
 */
import { ERROR_CODES, type ErrorCode } from '../src/lib/core/protocol';

/** What the sync server and the HTTP APIs count. */
export class Metrics {
	/** Sync WebSockets open now. */
	openSockets = 0;
	/** Envelopes stored (duplicates not counted). */
	envelopesAccepted = 0;
	/** Error answers sent, per code. */
	readonly framesRejected = new Map<ErrorCode, number>(ERROR_CODES.map((code) => [code, 0]));

	/** Manifest requests to known links, by outcome (docs/SHARING.md); unknown links are not counted apart. */
	readonly shlManifests = new Map<'opened' | 'wrong_passcode' | 'refused', number>([
		['opened', 0],
		['wrong_passcode', 0],
		['refused', 0]
	]);
	/** Contributions stored. */
	shlContributions = 0;

	/** Blob bytes written to uploads (parts stored; refused parts not counted). */
	blobBytesIn = 0;
	/** Blob bytes sent in downloads. */
	blobBytesOut = 0;
	/** Blobs and uploads deleted: DELETE, refs collection, expired uploads (not uploads discarded for a wrong hash). */
	blobsDeleted = 0;

	/** Counts one manifest request to a known link. */
	shlManifest(outcome: 'opened' | 'wrong_passcode' | 'refused'): void {
		this.shlManifests.set(outcome, (this.shlManifests.get(outcome) ?? 0) + 1);
	}

	/** Counts one error answer. */
	rejected(code: ErrorCode): void {
		this.framesRejected.set(code, (this.framesRejected.get(code) ?? 0) + 1);
	}

	/** The Prometheus text exposition (version 0.0.4). */
	render(): string {
		return [
			'# HELP carnet_sync_sockets_open Sync WebSockets open now.',
			'# TYPE carnet_sync_sockets_open gauge',
			`carnet_sync_sockets_open ${this.openSockets}`,
			'# HELP carnet_sync_envelopes_accepted_total Envelopes stored.',
			'# TYPE carnet_sync_envelopes_accepted_total counter',
			`carnet_sync_envelopes_accepted_total ${this.envelopesAccepted}`,
			'# HELP carnet_sync_frames_rejected_total Frames answered with an error, by code.',
			'# TYPE carnet_sync_frames_rejected_total counter',
			...[...this.framesRejected].map(([code, n]) => `carnet_sync_frames_rejected_total{code="${code}"} ${n}`),
			'# HELP carnet_shl_manifest_requests_total Manifest requests to known SMART Health Links, by outcome.',
			'# TYPE carnet_shl_manifest_requests_total counter',
			...[...this.shlManifests].map(([outcome, n]) => `carnet_shl_manifest_requests_total{outcome="${outcome}"} ${n}`),
			'# HELP carnet_shl_contributions_total Contributions stored.',
			'# TYPE carnet_shl_contributions_total counter',
			`carnet_shl_contributions_total ${this.shlContributions}`,
			'# HELP carnet_blob_bytes_in_total Blob bytes stored by uploads.',
			'# TYPE carnet_blob_bytes_in_total counter',
			`carnet_blob_bytes_in_total ${this.blobBytesIn}`,
			'# HELP carnet_blob_bytes_out_total Blob bytes sent by downloads.',
			'# TYPE carnet_blob_bytes_out_total counter',
			`carnet_blob_bytes_out_total ${this.blobBytesOut}`,
			'# HELP carnet_blobs_deleted_total Blobs and uploads deleted (DELETE, refs collection, expired uploads).',
			'# TYPE carnet_blobs_deleted_total counter',
			`carnet_blobs_deleted_total ${this.blobsDeleted}`,
			''
		].join('\n');
	}
}
