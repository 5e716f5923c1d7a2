import type { ProviderName } from "./api/client";

const LABELS: Record<ProviderName, string> = {
  sendgrid: "SendGrid",
  ses: "Amazon SES",
  microsoft365: "Microsoft 365",
  google: "Google Workspace",
  sandbox: "Sandbox (not real mail)",
};

/** A provider's name as people know it. */
export function providerLabel(name: ProviderName): string {
  return LABELS[name];
}
