import { vi } from "vitest";
import type { Account, Api, Created, CreateRequest, Policy } from "../api/client";

/** An `Api` whose every call is a mock, answering as the service would. */
export function fakeApi(overrides: Partial<Api> = {}): Api {
  return {
    check: vi.fn(async (username: string, domain?: string) => ({
      email: `${username}@${domain ?? "example.com"}`,
      available: true,
      suggestions: [],
    })),
    create: vi.fn(async ({ username, domain }: CreateRequest) =>
      created(`${username}@${domain ?? "example.com"}`, "sandbox-First-1"),
    ),
    list: vi.fn(async () => ({ accounts: [] })),
    policy: vi.fn(async () => policy()),
    rotate: vi.fn(async (email: string) => created(email, "sandbox-Second-2")),
    setSending: vi.fn(async (email: string, allowed: boolean) => ({
      ...account(email),
      status: allowed ? ("active" as const) : ("disabled" as const),
    })),
    remove: vi.fn(async (email: string) => ({
      email,
      status: "deleted" as const,
      available_again_at: "2026-12-25T09:00:00Z",
    })),
    ...overrides,
  };
}

export function created(email: string, password: string): Created {
  return {
    success: true,
    email,
    display_name: "Contact",
    provider: "sandbox",
    status: "active",
    credentials: {
      smtp_server: "smtp.sandbox.invalid",
      smtp_port: 587,
      username: email,
      password,
      authentication: "password",
    },
    webmail: null,
    created_at: "2026-11-25T09:00:00Z",
  };
}

export function account(email: string, overrides: Partial<Account> = {}): Account {
  return {
    email,
    display_name: "Contact",
    provider: "sandbox",
    status: "active",
    smtp_server: "smtp.sandbox.invalid",
    smtp_port: 587,
    smtp_username: email,
    smtp_authentication: "password",
    webmail: null,
    created_at: "2026-11-25T09:00:00Z",
    emails_sent_today: 2,
    emails_sent_month: 40,
    bounces_month: 1,
    complaints_month: 0,
    stats_updated_at: "2026-11-25T08:59:00Z",
    stats_unavailable_reason: null,
    ...overrides,
  };
}

/**
 * A policy; unless `overrides` give them, the providers' details say what
 * the service says: only SendGrid's keys reach beyond their address (with
 * no note of its own, so the panel's sentence shows).
 */
export function policy(overrides: Partial<Policy> = {}): Policy {
  const providers = overrides.providers ?? ["sandbox"];
  return {
    domains: [{ domain: "example.com", provider: "sandbox" }],
    providers,
    provider_details: providers.map((name) => ({ name, least_privilege: name !== "sendgrid", note: null })),
    daily_create_limit: 10,
    address_quarantine_days: 30,
    administrator: false,
    ...overrides,
  };
}

/** An unsigned JWT with these claims: the panel never checks signatures, API Gateway does. */
export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}
