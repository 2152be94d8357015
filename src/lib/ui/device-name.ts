// A sensible default name for this device ("Phone (Android)", "Computer (Linux)"), which the
// patient can change before joining: it is how the device appears in the devices list.
import { DEVICE_NAME_MAX } from '$lib/core/record';
import { t } from './i18n/index.svelte';

interface UserAgentData {
	mobile?: boolean;
	platform?: string;
}

const PLATFORMS: [RegExp, string][] = [
	[/Android/i, 'Android'],
	[/iPhone|iPad|iPod/i, 'iOS'],
	[/CrOS/i, 'ChromeOS'],
	[/Mac OS X|Macintosh/i, 'macOS'],
	[/Windows/i, 'Windows'],
	[/Linux/i, 'Linux']
];

export function defaultDeviceName(): string {
	if (typeof navigator === 'undefined') return t('device.computer');
	const data = (navigator as Navigator & { userAgentData?: UserAgentData }).userAgentData;
	const agent = navigator.userAgent ?? '';
	const mobile = data?.mobile ?? /Android|iPhone|iPad|iPod|Mobile/i.test(agent);
	const platform = data?.platform || PLATFORMS.find(([pattern]) => pattern.test(agent))?.[1] || '';
	const kind = mobile ? t('device.phone') : t('device.computer');
	return platform ? t('device.kindOn', { kind, platform }) : kind;
}

/** Longest device name the record keeps. */
export const MAX_DEVICE_NAME = DEVICE_NAME_MAX;
