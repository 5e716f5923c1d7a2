// The client against the real functions under `cargo lambda watch`
// (scripts/test-sdk starts them: AUTH_MODE=local, SQLite, the sandbox
// provider, 5 creates a day). A person is X-User-Id; a key is a token.
import { describe, expect, it } from "vitest";
import { ApiError, EmailProvisioningClient } from "../src/index.js";

const baseUrl = process.env.EP_BASE_URL;
if (!baseUrl) throw new Error("EP_BASE_URL is not set: run scripts/test-sdk");
const run = Date.now().toString(36);

/** A person of this run, as a local run knows one. */
function person(name: string, options: Partial<ConstructorParameters<typeof EmailProvisioningClient>[0]> = {}) {
  return new EmailProvisioningClient({ baseUrl: baseUrl!, headers: { "X-User-Id": `${name}-${run}` }, ...options });
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("EmailProvisioningClient, against the functions", () => {
  it("checks, creates, lists every page, rotates, disables, enables and deletes", async () => {
    const alice = person("alice");
    const policy = await alice.policy();
    expect(policy.domains[0]?.domain).toBe("example.com");

    const name = `sdk-${run}`;
    expect(await alice.checkAvailability(name)).toMatchObject({ available: true, email: `${name}@example.com` });
    const created = await alice.createAccount({ username: name, displayName: "SDK test" });
    expect(created).toMatchObject({ success: true, email: `${name}@example.com`, display_name: "SDK test" });
    expect(created.credentials.password).toMatch(/^sandbox-/);

    const taken = await refusal(person("bob").createAccount({ username: name }));
    expect(taken).toMatchObject({ status: 409, code: "address_taken" });
    expect(taken.suggestions).toHaveLength(5);
    expect(taken.requestId).toBeTruthy();

    await alice.createAccount({ username: `${name}-2` });
    await alice.createAccount({ username: `${name}-3` });
    const first = await alice.listAccounts({ limit: 1 });
    expect(first.accounts).toHaveLength(1);
    expect(first.next_cursor).toBeTruthy();
    const every: string[] = [];
    for await (const account of alice.accounts({ pageSize: 1 })) every.push(account.email);
    expect(every.sort()).toEqual([`${name}-2@example.com`, `${name}-3@example.com`, `${name}@example.com`]);
    expect(JSON.stringify(first)).not.toContain(created.credentials.password);

    const rotated = await alice.rotateCredentials(created.email);
    expect(rotated.credentials.password).not.toBe(created.credentials.password);
    expect((await alice.disable(created.email)).status).toBe("disabled");
    expect((await alice.enable(created.email)).status).toBe("active");
    expect(await alice.deleteAccount(created.email)).toMatchObject({ email: created.email, status: "deleted" });
    expect(await alice.checkAvailability(name)).toMatchObject({ available: false, reason: "quarantined" });
    const gone = await refusal(alice.deleteAccount(created.email));
    expect(gone).toMatchObject({ status: 404, code: "account_not_found" });
  });

  it("retries a create whose answer was lost with the same Idempotency-Key: one address", async () => {
    let calls = 0;
    const keys: (string | null)[] = [];
    // The first answer is lost after the service acted on the request.
    const losing: typeof fetch = async (input, init) => {
      calls += 1;
      keys.push(new Headers(init?.headers).get("Idempotency-Key"));
      const response = await fetch(input, init);
      if (calls === 1) throw new TypeError("fetch failed: the connection was reset");
      return response;
    };
    const carol = person("carol", { fetch: losing, backoffMs: 10 });
    const created = await carol.createAccount({ username: `lost-${run}` });
    expect(created.credentials.password).toMatch(/^sandbox-/);
    expect(calls).toBe(2);
    expect(keys[0]).toBeTruthy();
    expect(keys[1]).toBe(keys[0]);
    const listed = await person("carol").listAccounts();
    expect(listed.accounts.map((account) => account.email)).toEqual([`lost-${run}@example.com`]);
  });

  it("throws a daily limit at once, with how long to wait, instead of sleeping on it", async () => {
    const dave = person("dave", { maxRetryAfterSeconds: 5 });
    for (let n = 0; n < 5; n++) await dave.createAccount({ username: `limit-${n}-${run}` });
    const started = Date.now();
    const limited = await refusal(dave.createAccount({ username: `limit-5-${run}` }));
    expect(limited).toMatchObject({ status: 429, code: "rate_limited" });
    expect(limited.retryAfterSeconds).toBeGreaterThan(5);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("sends a request again after a 503 or a short Retry-After, and gives up after its tries", async () => {
    const answers = [503, 429];
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls += 1;
      const status = answers.shift();
      if (status !== undefined) {
        const body = JSON.stringify({ error: { code: "service_unavailable", message: "busy", request_id: "r1" } });
        return new Response(body, { status, headers: { "Retry-After": status === 429 ? "1" : "" } });
      }
      return fetch(input, init);
    };
    const erin = person("erin", { fetch: flaky, backoffMs: 10 });
    const started = Date.now();
    expect((await erin.policy()).daily_create_limit).toBe(5);
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    const down: typeof fetch = async () => {
      throw new TypeError("fetch failed: connection refused");
    };
    const unreachable = await refusal(person("erin", { fetch: down, backoffMs: 1, attempts: 2 }).policy());
    expect(unreachable).toMatchObject({ status: 0, code: "network_error" });
  });

  it("makes, uses, lists and revokes an API key; a key acts within its scopes", async () => {
    const frank = person("frank");
    await frank.createAccount({ username: `keyed-${run}` });
    const issued = await frank.createKey({ name: "sdk test", scopes: ["check", "list"], expiresInDays: 7 });
    expect(issued.key).toMatch(/^epk_/);

    const software = new EmailProvisioningClient({ baseUrl: baseUrl!, token: issued.key });
    const listed = await software.listAccounts();
    expect(listed.accounts.map((account) => account.email)).toEqual([`keyed-${run}@example.com`]);
    const outside = await refusal(software.createAccount({ username: `by-key-${run}` }));
    expect(outside).toMatchObject({ status: 403, code: "insufficient_scope" });
    const noKeys = await refusal(software.createKey({ name: "by a key", scopes: ["list"] }));
    expect(noKeys).toMatchObject({ status: 403, code: "insufficient_scope" });

    const keys = await frank.listKeys();
    expect(keys.map((key) => key.id)).toEqual([issued.id]);
    expect(JSON.stringify(keys)).not.toContain(issued.key.slice(4));
    expect(await frank.revokeKey(issued.id)).toEqual({ id: issued.id, revoked: true });
    const revoked = await refusal(software.listAccounts());
    expect(revoked).toMatchObject({ status: 401, code: "unauthorized" });
  });
});
