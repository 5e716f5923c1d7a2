// The API as openapi.yaml describes it: request and answer types come from
// the generated schema.ts, so the panel cannot drift from the contract.
import type { components } from "./schema";

export type Availability = components["schemas"]["Availability"];
export type Created = components["schemas"]["Created"];
export type Account = components["schemas"]["Account"];
export type AccountPage = components["schemas"]["AccountPage"];
export type Deleted = components["schemas"]["Deleted"];
type ErrorBody = components["schemas"]["Error"];

/** An answer in the documented error shape. */
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

export interface Api {
  check(username: string, signal?: AbortSignal): Promise<Availability>;
  create(username: string, displayName: string, idempotencyKey: string): Promise<Created>;
  list(): Promise<AccountPage>;
  rotate(email: string, idempotencyKey: string): Promise<Created>;
  setSending(email: string, allowed: boolean): Promise<Account>;
  remove(email: string): Promise<Deleted>;
}

export function createApi(
  identity: Identity,
  baseUrl: string = import.meta.env.VITE_API_BASE_URL ?? "",
  fetchImpl: typeof fetch = (...args) => fetch(...args),
): Api {
  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const headers: Record<string, string> = { ...extraHeaders };
    if ("token" in identity) headers.Authorization = `Bearer ${identity.token}`;
    else headers["X-User-Id"] = identity.localUser;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = (parsed as ErrorBody | null)?.error;
      const retryAfter = response.headers.get("Retry-After");
      throw new ApiError(
        response.status,
        error?.code ?? "unknown",
        error?.message ?? `the service answered ${response.status}`,
        error?.suggestions ?? [],
        retryAfter === null ? undefined : Number(retryAfter),
      );
    }
    return parsed as T;
  }

  return {
    check: (username, signal) =>
      call<Availability>("POST", "/api/email/check-availability", { username }, {}, signal),
    create: (username, displayName, idempotencyKey) =>
      call<Created>(
        "POST",
        "/api/email/create",
        { username, display_name: displayName || undefined },
        { "Idempotency-Key": idempotencyKey },
      ),
    list: () => call<AccountPage>("GET", "/api/email/my-accounts?limit=100"),
    rotate: (email, idempotencyKey) =>
      call<Created>("POST", `${accountPath(email)}/rotate-credentials`, undefined, {
        "Idempotency-Key": idempotencyKey,
      }),
    setSending: (email, allowed) =>
      call<Account>("POST", `${accountPath(email)}/${allowed ? "enable" : "disable"}`),
    remove: (email) => call<Deleted>("DELETE", accountPath(email)),
  };
}

function accountPath(email: string): string {
  return `/api/email/accounts/${encodeURIComponent(email)}`;
}

/** A fresh key per user action: a retry of the same click cannot act twice. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
