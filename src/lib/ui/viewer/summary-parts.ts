// What the viewer needs only once a link is opened: fetching and decrypting it (jose), reading
// the IPS, its components, the contribution form. /shl loads this after its form is on screen
// (or when "open" is pressed), so the form a doctor types into comes up sooner on a phone.
export { summarizeIps } from '$lib/core/fhir/summary';
export { openShl } from '$lib/core/share/resolve';
export { shcBundles } from '$lib/core/share/shc';
export { CONTRIBUTION_CONTENT_TYPE, ContributionInfo } from '$lib/core/share/contribution';
export { default as IpsView } from './IpsView.svelte';
export { default as Attachment } from './Attachment.svelte';
export { default as ContributeForm } from './ContributeForm.svelte';
