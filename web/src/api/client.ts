// The API as openapi.yaml describes it: request and answer types come from
// the generated schema.ts, so the panel cannot drift from the contract.
import type { components, paths } from "./schema";

export type Availability = components["schemas"]["Availability"];
export type Created = components["schemas"]["Created"];
export type Account = components["schemas"]["Account"];
export type AccountPage = components["schemas"]["AccountPage"];
export type Deleted = components["schemas"]["Deleted"];
export type Policy = components["schemas"]["Policy"];
export type ProviderName = components["schemas"]["ProviderName"];
export type Credentials = components["schemas"]["Credentials"];
export type AdminAccount = components["schemas"]["AdminAccount"];
export type AdminAccountPage = components["schemas"]["AdminAccountPage"];
export type Transferred = components["schemas"]["Transferred"];
export type OffboardReport = components["schemas"]["OffboardReport"];
export type OffboardOutcome = OffboardReport["addresses"][number];
export type AuditAction = components["schemas"]["AuditAction"];
export type AuditEntry = components["schemas"]["AuditEntry"];
export type AuditPage = components["schemas"]["AuditPage"];
export type Report = components["schemas"]["Report"];
export type ReportRow = Report["rows"][number];
export type ReportGrouping = Report["group_by"];
export type DomainCheck = components["schemas"]["DomainCheck"];
export type DomainChecks =
  paths["/api/admin/domains"]["get"]["responses"]["200"]["content"]["application/json"];
export type CheckedDomain = DomainChecks["domains"][number];
type ErrorBody = components["schemas"]["Error"];

/** An answer in the documented error shape (or one API Gateway made itself). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly suggestions: string[] = [],
    readonly retryAfterSeconds?: number,
    /** The answer's request id, for a report: the error body's, else API Gateway's `apigw-requestid`. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/**
 * Who calls: the product's sign-in token, or (local runs only) a user id
 * and the groups that stand for the token's groups claim.
 */
export type Identity = { token: string } | { localUser: string; localGroups?: string[] };

/** `GET /api/admin/accounts`'s filters; empty ones are left out. */
export interface AdminAccountFilter {
  owner?: string;
  domain?: string;
  provider?: string;
  status?: string;
  /** Part of the address. */
  q?: string;
}

/** `GET /api/admin/audit`'s filters; `from`/`to` an RFC 3339 time or a UTC day. */
export interface AuditFilter {
  address?: string;
  actor?: string;
  owner?: string;
  action?: string;
  from?: string;
  to?: string;
}

/** `GET /api/admin/report`'s range (UTC days, inclusive) and grouping. */
export interface ReportQuery {
  from?: string;
  to?: string;
  groupBy?: ReportGrouping;
}

export interface CreateRequest {
  username: string;
  displayName: string;
  /** An offered domain; the default one when absent. */
  domain?: string;
  /** An offered provider; the domain's when absent. */
  provider?: string;
}

export interface Api {
  check(username: string, domain: string | undefined, signal?: AbortSignal): Promise<Availability>;
  create(request: CreateRequest, idempotencyKey: string): Promise<Created>;
  list(cursor?: string): Promise<AccountPage>;
  policy(): Promise<Policy>;
  rotate(email: string, idempotencyKey: string): Promise<Created>;
  setSending(email: string, allowed: boolean): Promise<Account>;
  remove(email: string): Promise<Deleted>;
  /** Administrators only (403 `forbidden` for anyone else): */
  adminAccounts(filter: AdminAccountFilter, cursor?: string): Promise<AdminAccountPage>;
  transfer(email: string, owner: string, rotate: boolean): Promise<Transferred>;
  offboard(user: string, to: string, idempotencyKey: string): Promise<OffboardReport>;
  audit(filter: AuditFilter, cursor?: string): Promise<AuditPage>;
  /** The audit trail's newest entries (up to 1000) with these filters, as CSV. */
  auditCsv(filter: AuditFilter): Promise<Blob>;
  report(query: ReportQuery): Promise<Report>;
  reportCsv(query: ReportQuery): Promise<Blob>;
  /** Every domain's checks, made now (DNS within 2 s, each provider asked). */
  domains(): Promise<DomainChecks>;
}

export interface ApiOptions {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  /** Called on every 401: the token is missing, expired or refused. */
  onUnauthorized?: () => void;
  /** Called on a 403 `mfa_required`: the action needs a sign-in with a second factor. */
  onSecondFactorNeeded?: () => void;
}

/**
 * Codes for answers that are not in the documented shape: API Gateway's (or
 * CloudFront's) own. A 500 is a function that failed without answering
 * (crashed, or ran out of time); 502, 503 and 504 are a gateway that got no
 * usable answer in time: in each, what the request did is unknown. Any other
 * status is "unknown".
 */
const CODE_BY_STATUS: Record<number, string> = {
  401: "unauthorized",
  403: "unauthorized",
  429: "throttled",
  500: "internal_error",
  502: "bad_gateway",
  503: "gateway_unavailable",
  504: "gateway_timeout",
};

export function createApi(identity: Identity, options: ApiOptions = {}): Api {
  const baseUrl = options.baseUrl ?? import.meta.env.VITE_API_BASE_URL ?? "";
  const fetchImpl = options.fetchImpl ?? ((...args) => fetch(...args));

  /** The answer to a request as the caller, or (for any status but 2xx) an ApiError. */
  async function send(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...extraHeaders };
    if ("token" in identity) headers.Authorization = `Bearer ${identity.token}`;
    else {
      headers["X-User-Id"] = identity.localUser;
      // Local runs only: the groups claim a token would carry (administrators: ADMIN_GROUPS).
      if (identity.localGroups?.length) headers["X-User-Groups"] = identity.localGroups.join(",");
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      const parsed = parseJson(await response.text());
      if (response.status === 401) options.onUnauthorized?.();
      const error = documentedError(parsed);
      if (response.status === 403 && error?.code === "mfa_required") options.onSecondFactorNeeded?.();
      const retryAfter = response.headers.get("Retry-After");
      // Readable on the panel's own origin (CloudFront sends /api/* on); null where CORS hides it.
      const gatewayRequestId = response.headers.get("apigw-requestid");
      throw new ApiError(
        response.status,
        error?.code ?? CODE_BY_STATUS[response.status] ?? "unknown",
        error?.message ?? gatewayMessage(response.status, parsed),
        error?.suggestions ?? [],
        retryAfter === null ? undefined : Number(retryAfter),
        error?.request_id || gatewayRequestId || undefined,
      );
    }
    return response;
  }

  /** A JSON answer, as the contract types it. */
  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const response = await send(method, path, body, extraHeaders, signal);
    return parseJson(await response.text()) as T;
  }

  /** A CSV answer (`Accept: text/csv`), as a file to save. */
  async function csv(path: string): Promise<Blob> {
    const response = await send("GET", path, undefined, { Accept: "text/csv" });
    return new Blob([await response.text()], { type: "text/csv;charset=utf-8" });
  }

  return {
    check: (username, domain, signal) =>
      call<Availability>("POST", "/api/email/check-availability", { username, domain }, {}, signal),
    create: ({ username, displayName, domain, provider }, idempotencyKey) =>
      call<Created>(
        "POST",
        "/api/email/create",
        { username, display_name: displayName || undefined, domain, provider },
        { "Idempotency-Key": idempotencyKey },
      ),
    list: (cursor) =>
      call<AccountPage>(
        "GET",
        `/api/email/my-accounts?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      ),
    policy: () => call<Policy>("GET", "/api/email/policy"),
    rotate: (email, idempotencyKey) =>
      call<Created>("POST", `${accountPath(email)}/rotate-credentials`, undefined, {
        "Idempotency-Key": idempotencyKey,
      }),
    setSending: (email, allowed) =>
      call<Account>("POST", `${accountPath(email)}/${allowed ? "enable" : "disable"}`),
    remove: (email) => call<Deleted>("DELETE", accountPath(email)),
    adminAccounts: (filter, cursor) =>
      call<AdminAccountPage>("GET", `/api/admin/accounts${query({ ...filter, cursor })}`),
    transfer: (email, owner, rotate) =>
      call<Transferred>("POST", `/api/admin/accounts/${encodeURIComponent(email)}/transfer`, { owner, rotate }),
    offboard: (user, to, idempotencyKey) =>
      call<OffboardReport>(
        "POST",
        `/api/admin/users/${encodeURIComponent(user)}/offboard`,
        { to },
        { "Idempotency-Key": idempotencyKey },
      ),
    audit: (filter, cursor) => call<AuditPage>("GET", `/api/admin/audit${query({ ...filter, cursor })}`),
    auditCsv: (filter) => csv(`/api/admin/audit${query({ ...filter, limit: AUDIT_CSV_LIMIT })}`),
    report: (request) => call<Report>("GET", `/api/admin/report${reportQuery(request)}`),
    reportCsv: (request) => csv(`/api/admin/report${reportQuery(request)}`),
    domains: () => call<DomainChecks>("GET", "/api/admin/domains"),
  };
}

/** The most entries one audit page holds: what a CSV download takes. */
export const AUDIT_CSV_LIMIT = 1000;

/** `?name=value&…` of the parameters that have a value (an empty filter is no filter), or "". */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    const text = value === undefined ? "" : String(value).trim();
    if (text) search.set(name, text);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function reportQuery({ from, to, groupBy }: ReportQuery): string {
  return query({ from, to, group_by: groupBy });
}

/** A body as JSON, or null when empty or not JSON (a proxy's error page). */
function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The error of a body in the documented shape (`{"error": {"code", …}}`), or undefined. */
function documentedError(parsed: unknown): ErrorBody["error"] | undefined {
  const error = (parsed as Partial<ErrorBody> | null)?.error;
  return typeof error === "object" && error !== null && typeof error.code === "string" ? error : undefined;
}

/**
 * What a gateway's own answer said, for a developer (people read
 * describeError's sentence): its status and its `{"message"}`, if any.
 */
function gatewayMessage(status: number, parsed: unknown): string {
  const words = (parsed as { message?: unknown } | null)?.message;
  return `HTTP ${status} from a gateway${typeof words === "string" ? `: ${words}` : ", not in the documented error shape"}`;
}

function accountPath(email: string): string {
  return `/api/email/accounts/${encodeURIComponent(email)}`;
}

/** A fresh key per user action: a retry of the same click cannot act twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
