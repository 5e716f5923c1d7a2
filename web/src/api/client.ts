// The API as openapi.yaml describes it: request and answer types come from
// the generated schema.ts, so the panel cannot drift from the contract.
import type { components } from "./schema";

export type Availability = components["schemas"]["Availability"];
export type Created = components["schemas"]["Created"];
export type Account = components["schemas"]["Account"];
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
  };
}
