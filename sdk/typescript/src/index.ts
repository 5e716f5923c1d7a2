/**
 * The email-provisioning API from TypeScript: fetch only, no runtime
 * dependency. Types come from openapi.yaml (`src/schema.ts`, generated).
 *
 *     const client = new EmailProvisioningClient({ baseUrl, token });
 *     const { email, credentials } = await client.createAccount({ username: "support" });
 */
import type { components } from "./schema.js";

type Schemas = components["schemas"];
export type Availability = Schemas["Availability"];
export type Account = Schemas["Account"];
export type AccountPage = Schemas["AccountPage"];
export type Created = Schemas["Created"];
/** One of a domain's checks, as a create's `warnings` give it. */
export type DomainCheck = Schemas["DomainCheck"];
export type Deleted = Schemas["Deleted"];
export type Policy = Schemas["Policy"];
export type ProviderName = Schemas["ProviderName"];
export type KeyScope = Schemas["KeyScope"];
export type Key = Schemas["Key"];
export type IssuedKey = Schemas["IssuedKey"];
export type Revoked = Schemas["Revoked"];
export type ErrorCode = Schemas["Error"]["error"]["code"];

export interface ClientOptions {
  /** Where the API is: `https://…` (or, locally, `http://localhost:9000`). */
  baseUrl: string;
  /** A person's sign-in token (JWT) or an API key (`epk_…`), sent as `Authorization: Bearer`. */
  token?: string;
  /** More headers on every request (locally: `X-User-Id`, which `AUTH_MODE=local` trusts). */
  headers?: Record<string, string>;
  /** Tries of a request that may be repeated: 429, 503, no answer. 3 by default; 1 never retries. */
  attempts?: number;
  /** The first wait between tries, doubled each time (with jitter), in ms. 200 by default. */
  backoffMs?: number;
  /** The longest `Retry-After` waited for before trying again, in s; a longer one (a daily limit) is thrown at once. 30 by default. */
  maxRetryAfterSeconds?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** The API's answer to a request it refused or failed, in its documented shape. */
export class ApiError extends Error {
  constructor(
    /** The HTTP status (0 when no answer came at all). */
    readonly status: number,
    /** The documented code (`address_taken`, `rate_limited`…), or `network_error`, `unexpected_answer`. */
    readonly code: ErrorCode | "network_error" | "unexpected_answer",
    message: string,
    /** Quote it when reporting a failure. */
    readonly requestId: string | undefined,
    /** Free addresses offered instead of a taken, reserved or look-alike one. */
    readonly suggestions: string[] = [],
    /** From `Retry-After`, when the service said how long to wait. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface Call {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  idempotencyKey?: string;
  /** Safe to send again when no answer came: a read, a key-carrying write, a set-state. */
  repeatable: boolean;
}

export class EmailProvisioningClient {
  private readonly baseUrl: string;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterSeconds: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoffMs = options.backoffMs ?? 200;
    this.maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 30;
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
  }

  /** Whether `username` is free on `domain` (the default domain when absent), and alternatives if not. */
  checkAvailability(username: string, options: { domain?: string } = {}): Promise<Availability> {
    return this.send({
      method: "POST",
      path: "/api/email/check-availability",
      body: { username, domain: options.domain },
      repeatable: true,
    });
  }

  /**
   * Creates the address; the answer holds its SMTP password, shown this
   * once. One Idempotency-Key per call, the same on each of its retries,
   * so a retried create never makes two addresses.
   */
  createAccount(
    request: { username: string; displayName?: string; provider?: ProviderName; domain?: string },
    options: { idempotencyKey?: string } = {},
  ): Promise<Created> {
    return this.send({
      method: "POST",
      path: "/api/email/create",
      body: {
        username: request.username,
        display_name: request.displayName,
        provider: request.provider,
        domain: request.domain,
      },
      idempotencyKey: options.idempotencyKey ?? newKey(),
      repeatable: true,
    });
  }

  /** One page of the caller's addresses (never a password). */
  listAccounts(options: { limit?: number; cursor?: string } = {}): Promise<AccountPage> {
    return this.send({
      method: "GET",
      path: "/api/email/my-accounts",
      query: { limit: options.limit, cursor: options.cursor },
      repeatable: true,
    });
  }

  /** Every address of the caller, page after page. */
  async *accounts(options: { pageSize?: number } = {}): AsyncGenerator<Account> {
    let cursor: string | undefined;
    do {
      const page = await this.listAccounts({ limit: options.pageSize, cursor });
      yield* page.accounts;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** New SMTP credentials (the old ones stop working); one Idempotency-Key per call, as for a create. */
  rotateCredentials(email: string, options: { idempotencyKey?: string } = {}): Promise<Created> {
    return this.send({
      method: "POST",
      path: `${accountPath(email)}/rotate-credentials`,
      idempotencyKey: options.idempotencyKey ?? newKey(),
      repeatable: true,
    });
  }

  /** Stops the address sending; its credentials are kept. */
  disable(email: string): Promise<Account> {
    return this.send({ method: "POST", path: `${accountPath(email)}/disable`, repeatable: true });
  }

  /** Lets a disabled address send again. */
  enable(email: string): Promise<Account> {
    return this.send({ method: "POST", path: `${accountPath(email)}/enable`, repeatable: true });
  }

  /** Deletes the address at its provider and here; it is quarantined for a while. */
  deleteAccount(email: string): Promise<Deleted> {
    // Sent again after a lost answer, a delete that happened would be a 404.
    return this.send({ method: "DELETE", path: accountPath(email), repeatable: false });
  }

  /** The domains and providers a create may pick, the daily limit, the quarantine. */
  policy(): Promise<Policy> {
    return this.send({ method: "GET", path: "/api/email/policy", repeatable: true });
  }

  /** A new API key acting as the caller within `scopes`; the key is in the answer, this once. Only a person may make keys. */
  createKey(request: { name: string; scopes: KeyScope[]; expiresInDays?: number }): Promise<IssuedKey> {
    return this.send({
      method: "POST",
      path: "/api/keys",
      body: { name: request.name, scopes: request.scopes, expires_in_days: request.expiresInDays },
      repeatable: false,
    });
  }

  /** The caller's keys (never the keys themselves). */
  async listKeys(): Promise<Key[]> {
    const list: Schemas["KeyList"] = await this.send({ method: "GET", path: "/api/keys", repeatable: true });
    return list.keys;
  }

  /** Revokes one of the caller's keys. */
  revokeKey(id: string): Promise<Revoked> {
    return this.send({ method: "DELETE", path: `/api/keys/${encodeURIComponent(id)}`, repeatable: false });
  }

  private async send<T>(call: Call): Promise<T> {
    const url = new URL(this.baseUrl + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { Accept: "application/json", ...this.options.headers };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    if (call.idempotencyKey) headers["Idempotency-Key"] = call.idempotencyKey;
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);

    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method: call.method, headers, body });
      } catch (cause) {
        if (call.repeatable && attempt < this.attempts) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new ApiError(0, "network_error", `no answer from ${url.origin}: ${String(cause)}`, undefined);
      }
      if (response.ok) return (await response.json()) as T;
      const error = await apiError(response);
      // A 429 or a 503 did nothing: any request may be sent again, unless
      // the service asks to wait longer than this client will.
      const wait = error.retryAfterSeconds;
      const transient = response.status === 429 || response.status === 503;
      if (transient && attempt < this.attempts && (wait === undefined || wait <= this.maxRetryAfterSeconds)) {
        await sleep(wait !== undefined ? wait * 1000 : this.backoff(attempt));
        continue;
      }
      throw error;
    }
  }

  /** Doubling waits with full jitter, at most 5 s. */
  private backoff(attempt: number): number {
    return Math.random() * Math.min(5000, this.backoffMs * 2 ** (attempt - 1));
  }
}

function accountPath(email: string): string {
  return `/api/email/accounts/${encodeURIComponent(email)}`;
}

function newKey(): string {
  return globalThis.crypto.randomUUID();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  const retryAfter = response.headers.get("Retry-After");
  const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as Partial<Schemas["Error"]> | undefined)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return new ApiError(
      response.status,
      error.code,
      error.message,
      error.request_id,
      error.suggestions ?? [],
      retryAfterSeconds,
    );
  }
  // A gateway's own answer (API Gateway, CloudFront), not the service's.
  return new ApiError(
    response.status,
    "unexpected_answer",
    `HTTP ${response.status}: ${text.slice(0, 200)}`,
    response.headers.get("apigw-requestid") ?? undefined,
    [],
    retryAfterSeconds,
  );
}
