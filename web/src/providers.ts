import type { Policy, ProviderName } from "./api/client";

const LABELS: Record<ProviderName, string> = {
  sendgrid: "SendGrid",
  ses: "Amazon SES",
  microsoft365: "Microsoft 365",
  google: "Google Workspace",
  sandbox: "Sandbox (not real mail)",
};

/** Our words for a provider whose credentials reach wider, when the policy has none. */
const WIDER_REACH: Partial<Record<ProviderName, string>> = {
  sendgrid: "A SendGrid key can send as any address of the domain, not only this one.",
};

/** A provider's name as people know it. */
export function providerLabel(name: ProviderName): string {
  return LABELS[name];
}

/**
 * What to say before a create at `name` when the credentials it hands out
 * can do more than send as their own address (the policy's note, else our
 * sentence), or null when they cannot.
 */
export function widerReachNote(policy: Policy, name: ProviderName): string | null {
  // `?.`: a service older than provider_details says nothing, and the panel must still work with it.
  const detail = policy.provider_details?.find((offered) => offered.name === name);
  if (!detail || detail.least_privilege) return null;
  return (
    detail.note?.trim() ||
    (WIDER_REACH[name] ?? `Credentials from ${providerLabel(name)} can do more than send as this address.`)
  );
}
