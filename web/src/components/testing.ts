import { vi } from "vitest";
import type {
  Account,
  AdminAccount,
  Api,
  AuditEntry,
  Created,
  CreateRequest,
  DomainChecks,
  OffboardReport,
  Policy,
  Report,
  ReportRow,
} from "../api/client";

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
    adminAccounts: vi.fn(async () => ({ accounts: [] })),
    domains: vi.fn(async () => domainChecks()),
    transfer: vi.fn(async (email: string, owner: string, rotate: boolean) => ({
      previous_owner: "alice",
      account: adminAccount(email, { owner }),
      ...(rotate ? { credentials: created(email, "sandbox-Handed-3").credentials } : {}),
    })),
    offboard: vi.fn(async (user: string, to: string) => offboardReport(user, to, [])),
    audit: vi.fn(async () => ({ entries: [] })),
    auditCsv: vi.fn(async () => new Blob(["at,action\n"], { type: "text/csv" })),
    report: vi.fn(async () => report()),
    reportCsv: vi.fn(async () => new Blob(["day,creates\n"], { type: "text/csv" })),
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
    guard_rails: { enforced: true },
    ...overrides,
  };
}

/** An address as an administrator sees it: an account and its owner (alice unless said). */
export function adminAccount(email: string, overrides: Partial<AdminAccount> = {}): AdminAccount {
  return { ...account(email), owner: "alice", ...overrides };
}

export function offboardReport(
  user: string,
  to: string,
  addresses: OffboardReport["addresses"],
): OffboardReport {
  return { user, to, addresses };
}

/** An audit entry: alice created contact@example.com, unless `overrides` say otherwise. */
export function auditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: "2026-11-25T09:00:12Z",
    action: "created",
    outcome: "success",
    actor: "alice",
    owner: "alice",
    new_owner: null,
    email: "contact@example.com",
    provider: "sandbox",
    request_id: "req-1",
    error: null,
    ...overrides,
  };
}

/** A report row with every counter at zero but those given. */
export function reportRow(group: string, counts: Partial<Omit<ReportRow, "group">> = {}): ReportRow {
  return {
    group,
    creates: 0,
    failed_creates: 0,
    deletes: 0,
    rotations: 0,
    transfers: 0,
    suspensions: 0,
    sends: 0,
    deliveries: 0,
    bounces: 0,
    complaints: 0,
    ...counts,
  };
}

/** A report by day over 2026-11-23 to 2026-11-25, unless `overrides` say otherwise. */
export function report(overrides: Partial<Report> = {}): Report {
  return { from: "2026-11-23", to: "2026-11-25", group_by: "day", rows: [], ...overrides };
}

/** A domain of the policy, ready when last checked. */
export function offeredDomain(domain: string, provider: Policy["providers"][number]): Policy["domains"][number] {
  return { domain, provider, ready: true, reason: null, failing_checks: 0, checked_at: "2026-12-02T06:00:00Z" };
}

/** The domains page: example.com at the sandbox, its DMARC record missing. */
export function domainChecks(): DomainChecks {
  const ok = (check: "mx" | "spf" | "dkim", found: string) => ({
    check,
    status: "ok" as const,
    found,
    expected: found,
    message: `${check} is fine`,
  });
  return {
    domains: [
      {
        domain: "example.com",
        provider: "sandbox",
        ready: true,
        reason: null,
        checks: [
          ok("mx", "mx.example.com"),
          ok("spf", "v=spf1 include:_spf.sandbox.invalid ~all"),
          ok("dkim", "sandbox._domainkey.example.com v=DKIM1; p=MIIB"),
          {
            check: "dmarc",
            status: "missing",
            found: null,
            expected: "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com",
            message: "example.com has no DMARC record: add it at _dmarc.example.com",
          },
        ],
      },
    ],
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
    domains: [offeredDomain("example.com", "sandbox")],
    providers,
    provider_details: providers.map((name) => ({
      name,
      least_privilege: name !== "sendgrid",
      note: null,
      capacity: null,
      guard_rails: { enforced: true },
    })),
    daily_create_limit: 10,
    address_quarantine_days: 30,
    guard_rails: {
      daily_send_limit: null,
      max_bounce_rate_percent: 5,
      max_complaint_rate_percent: 0.1,
      minimum_sends: 50,
      window_days: 7,
      owner_may_resume: false,
    },
    administrator: false,
    ...overrides,
  };
}

/** An unsigned JWT with these claims: the panel never checks signatures, API Gateway does. */
export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}
