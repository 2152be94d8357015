/**
 * SMART Health Cards carried by a link (`application/smart-health-card` files).
 */
import { fromBase64url } from './base64';
import { ShlError } from './errors';
import { inflateRaw } from './inflate';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badCard(message: string, cause?: unknown): ShlError {
	return new ShlError('bad_file', message, { cause });
}

/**
 * The FHIR Bundles of an `application/smart-health-card` file, `{verifiableCredential:
 * [jws, …]}`, in order: each JWS payload (raw DEFLATE when its header says `zip: "DEF"`,
 * inflated to at most 64 MiB) is JSON whose `vc.credentialSubject.fhirBundle` is the Bundle.
 *
 * The issuers' signatures are NOT verified (that needs the issuer's JWKS, fetched from the
 * network, and a trust list): show these bundles as "shared by the patient", never as
 * "verified". Throws ShlError `bad_file` when the file or one of its cards is malformed.
 */
export async function shcBundles(json: unknown): Promise<Record<string, unknown>[]> {
	if (!isObject(json) || !Array.isArray(json.verifiableCredential)) {
		throw badCard('not a SMART Health Card file');
	}
	const bundles: Record<string, unknown>[] = [];
	for (const jws of json.verifiableCredential) {
		if (typeof jws !== 'string') throw badCard('a card is not a compact JWS');
		const parts = jws.trim().split('.');
		if (parts.length !== 3) throw badCard('a card is not a compact JWS');
		const headerBytes = fromBase64url(parts[0]);
		const payloadBytes = fromBase64url(parts[1]);
		if (!headerBytes || !payloadBytes) throw badCard('a card is not base64url');
		let bundle: unknown;
		try {
			const header: unknown = JSON.parse(utf8.decode(headerBytes));
			const zip = isObject(header) ? header.zip : undefined;
			if (zip !== undefined && zip !== 'DEF') throw new Error('unknown zip');
			const payload: unknown = JSON.parse(utf8.decode(zip === 'DEF' ? await inflateRaw(payloadBytes) : payloadBytes));
			const vc = isObject(payload) ? payload.vc : undefined;
			const subject = isObject(vc) ? vc.credentialSubject : undefined;
			bundle = isObject(subject) ? subject.fhirBundle : undefined;
		} catch (error) {
			throw badCard('a card does not decode', error);
		}
		if (!isObject(bundle) || bundle.resourceType !== 'Bundle') throw badCard('a card holds no FHIR Bundle');
		bundles.push(bundle);
	}
	return bundles;
}
