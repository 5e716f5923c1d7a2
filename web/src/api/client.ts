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
    /** The answer's request id, for a report: the error body's, else API Gateway's `apigw-requestid`. */
    readonly requestId?: string,
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
      const error = documentedError(parsed);
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
