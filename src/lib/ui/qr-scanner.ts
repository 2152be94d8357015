// Reads a QR code from the camera: getUserMedia (the back camera where there is one), then
// the browser's BarcodeDetector where it exists (Android, macOS), else jsQR on video frames
// drawn to a canvas (desktop Linux Chromium, Firefox). The decoder is loaded on demand.

/** Why the camera could not be used; each is an i18n key `scan.error.<code>`. */
export type CameraErrorCode = 'denied' | 'unavailable' | 'busy' | 'insecure' | 'failed';

export class CameraError extends Error {
	constructor(readonly code: CameraErrorCode) {
		super(`camera ${code}`);
	}
}

export interface Scanner {
	/** Stops decoding and releases the camera (the light goes off). Idempotent. */
	stop(): void;
}

type Decode = (source: HTMLVideoElement) => Promise<string | null>;

interface DetectedBarcode {
	rawValue: string;
}
interface BarcodeDetectorLike {
	detect(source: HTMLVideoElement): Promise<DetectedBarcode[]>;
}
interface BarcodeDetectorClass {
	new (options: { formats: string[] }): BarcodeDetectorLike;
	getSupportedFormats(): Promise<string[]>;
}

const SCAN_INTERVAL_MS = 150;
/** Frames are scaled down to this width before jsQR reads them (speed; a QR stays readable). */
const MAX_DECODE_WIDTH = 800;

function cameraError(error: unknown): CameraError {
	const name = error && typeof error === 'object' && 'name' in error ? String(error.name) : '';
	switch (name) {
		case 'NotAllowedError':
		case 'PermissionDeniedError':
			return new CameraError('denied');
		case 'NotFoundError':
		case 'DevicesNotFoundError':
		case 'OverconstrainedError':
			return new CameraError('unavailable');
		case 'NotReadableError':
		case 'TrackStartError':
		case 'AbortError':
			return new CameraError('busy');
		case 'SecurityError':
			return new CameraError('insecure');
		default:
			return new CameraError('failed');
	}
}

async function nativeDecoder(): Promise<Decode | null> {
	const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
	if (!Detector) return null;
	try {
		const formats = await Detector.getSupportedFormats();
		if (!formats.includes('qr_code')) return null;
		const detector = new Detector({ formats: ['qr_code'] });
		return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
	} catch {
		return null;
	}
}

async function jsqrDecoder(): Promise<Decode> {
	const { default: jsQR } = await import('jsqr');
	const canvas = document.createElement('canvas');
	const context = canvas.getContext('2d', { willReadFrequently: true });
	if (!context) throw new CameraError('failed');
	return async (video) => {
		const width = video.videoWidth;
		const height = video.videoHeight;
		if (!width || !height) return null;
		const scale = Math.min(1, MAX_DECODE_WIDTH / width);
		canvas.width = Math.round(width * scale);
		canvas.height = Math.round(height * scale);
		context.drawImage(video, 0, 0, canvas.width, canvas.height);
		const image = context.getImageData(0, 0, canvas.width, canvas.height);
		return jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
	};
}

/**
 * Starts the camera into `video` and calls `onResult` with the text of the first QR code
 * read (then keeps going until stopped, so a caller may refuse a code and wait for another).
 * Throws CameraError when the camera cannot be used.
 */
export async function startScanner(
	video: HTMLVideoElement,
	onResult: (text: string) => void
): Promise<Scanner> {
	if (typeof window !== 'undefined' && window.isSecureContext === false) throw new CameraError('insecure');
	if (!navigator.mediaDevices?.getUserMedia) throw new CameraError('unavailable');
	let stream: MediaStream;
	try {
		stream = await navigator.mediaDevices.getUserMedia({
			video: { facingMode: { ideal: 'environment' } },
			audio: false
		});
	} catch (error) {
		throw cameraError(error);
	}

	let stopped = false;
	let timer: ReturnType<typeof setTimeout> | undefined;
	const stop = () => {
		if (stopped) return;
		stopped = true;
		clearTimeout(timer);
		for (const track of stream.getTracks()) track.stop();
		if (video.srcObject === stream) video.srcObject = null;
	};

	try {
		video.muted = true;
		video.playsInline = true;
		video.srcObject = stream;
		await video.play();
		const decode = (await nativeDecoder()) ?? (await jsqrDecoder());
		const tick = async () => {
			if (stopped) return;
			try {
				const text = video.readyState >= video.HAVE_CURRENT_DATA ? await decode(video) : null;
				if (text && !stopped) onResult(text);
			} catch {
				// a frame that cannot be read: try the next one
			}
			if (!stopped) timer = setTimeout(tick, SCAN_INTERVAL_MS);
		};
		timer = setTimeout(tick, 0);
	} catch (error) {
		stop();
		throw error instanceof CameraError ? error : cameraError(error);
	}
	return { stop };
}
