// The API as openapi.yaml describes it: request and answer types come from
// the generated schema.ts, so the panel cannot drift from the contract.
import type { components } from "./schema";

export type Availability = components["schemas"]["Availability"];
export type Created = components["schemas"]["Created"];
export type Account = components["schemas"]["Account"];
export type AccountPage = components["schemas"]["AccountPage"];
export type Deleted = components["schemas"]["Deleted"];
export type Policy = components["schemas"]["Policy"];
export type ProviderName = components["schemas"]["ProviderName"];
type ErrorBody = components["schemas"]["Error"];

/** An answer in the documented error shape (or one API Gateway made itself). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly suggestions: string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Who calls: the product's sign-in token, or (local runs only) a user id. */
export type Identity = { token: string } | { localUser: string };

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
}

export interface ApiOptions {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  /** Called on every 401: the token is missing, expired or refused. */
  onUnauthorized?: () => void;
}

/** Codes for answers that are not in the documented shape: API Gateway's own. */
const CODE_BY_STATUS: Record<number, string> = {
  401: "unauthorized",
  403: "unauthorized",
  429: "throttled",
  503: "service_unavailable",
};

export function createApi(identity: Identity, options: ApiOptions = {}): Api {
  const baseUrl = options.baseUrl ?? import.meta.env.VITE_API_BASE_URL ?? "";
  const fetchImpl = options.fetchImpl ?? ((...args) => fetch(...args));

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...extraHeaders };
    if ("token" in identity) headers.Authorization = `Bearer ${identity.token}`;
    else headers["X-User-Id"] = identity.localUser;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const parsed = parseJson(await response.text());
    if (!response.ok) {
      if (response.status === 401) options.onUnauthorized?.();
      const error = (parsed as ErrorBody | null)?.error;
      const retryAfter = response.headers.get("Retry-After");
      throw new ApiError(
        response.status,
        error?.code ?? CODE_BY_STATUS[response.status] ?? "unknown",
        error?.message ?? `the service answered ${response.status}`,
        error?.suggestions ?? [],
        retryAfter === null ? undefined : Number(retryAfter),
      );
    }
    return parsed as T;
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
  };
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

function accountPath(email: string): string {
  return `/api/email/accounts/${encodeURIComponent(email)}`;
}

/** A fresh key per user action: a retry of the same click cannot act twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
