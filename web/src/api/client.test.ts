import { describe, expect, it, vi } from "vitest";
import { ApiError, createApi } from "./client";

/** A fetch that records each request and answers `status` with `body`. */
function answering(status: number, body: string, headers: Record<string, string> = {}) {
  return vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(body, { status, headers }));
}

function sent(fetchImpl: ReturnType<typeof answering>) {
  const [url, init] = fetchImpl.mock.calls[0];
  return { url: String(url), init: init!, headers: init!.headers as Record<string, string> };
}

describe("createApi", () => {
  it("sends the token as a bearer, the create's fields as the contract names them, and its Idempotency-Key", async () => {
    const fetchImpl = answering(201, JSON.stringify({ success: true }));
    const api = createApi({ token: "a.b.c" }, { baseUrl: "https://api.example.com", fetchImpl });
    await api.create({ username: "help", displayName: "", domain: "support.example.com" }, "key-1");
    const { url, init, headers } = sent(fetchImpl);
    expect(url).toBe("https://api.example.com/api/email/create");
    expect(init.method).toBe("POST");
    expect(headers.Authorization).toBe("Bearer a.b.c");
    expect(headers["X-User-Id"]).toBeUndefined();
    expect(headers["Idempotency-Key"]).toBe("key-1");
    expect(headers["Content-Type"]).toBe("application/json");
    // No display name: the field is left out, so the server derives one.
    expect(JSON.parse(init.body as string)).toEqual({ username: "help", domain: "support.example.com" });
  });

  it("names a local run's user in X-User-Id, and escapes the address in account paths", async () => {
    const fetchImpl = answering(200, JSON.stringify({ email: "a+b@example.com" }));
    const api = createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl });
    await api.rotate("a+b@example.com", "key-2");
    const { url, headers } = sent(fetchImpl);
    expect(url).toBe("/api/email/accounts/a%2Bb%40example.com/rotate-credentials");
    expect(headers["X-User-Id"]).toBe("alice");
    expect(headers.Authorization).toBeUndefined();
  });

  it("reads the documented error shape, its suggestions and Retry-After", async () => {
    const body = { error: { code: "rate_limited", message: "the daily limit is reached", request_id: "r1" } };
    const api = createApi(
      { localUser: "alice" },
      { baseUrl: "", fetchImpl: answering(429, JSON.stringify(body), { "Retry-After": "3600" }) },
    );
    const error = await api.create({ username: "x", displayName: "" }, "k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfterSeconds: 3600 });
  });

  it("treats API Gateway's own 401 as unauthorized and says so once", async () => {
    const onUnauthorized = vi.fn();
    const api = createApi(
      { token: "a.b.c" },
      { baseUrl: "", fetchImpl: answering(401, JSON.stringify({ message: "Unauthorized" })), onUnauthorized },
    );
    const error = await api.list().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, code: "unauthorized" });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("calls for a second factor on a 403 mfa_required, and on no other 403", async () => {
    const refusal = (code: string) =>
      JSON.stringify({ error: { code, message: "refused", request_id: "req-1" } });
    for (const [code, calls] of [["mfa_required", 1], ["forbidden", 0], ["insufficient_scope", 0]] as const) {
      const onSecondFactorNeeded = vi.fn();
      const onUnauthorized = vi.fn();
      const api = createApi(
        { token: "a.b.c" },
        { baseUrl: "", fetchImpl: answering(403, refusal(code)), onSecondFactorNeeded, onUnauthorized },
      );
      const error = await api.rotate("contact@example.com", "key-0123456789abcdef").catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 403, code, requestId: "req-1" });
      expect(onSecondFactorNeeded).toHaveBeenCalledTimes(calls);
      expect(onUnauthorized).not.toHaveBeenCalled();
    }
  });

  it("survives an error page that is not JSON, and names a gateway's 502 for what it is", async () => {
    const api = createApi({ token: "a.b.c" }, { baseUrl: "", fetchImpl: answering(502, "<html>Bad gateway</html>") });
    const error = await api.policy().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 502, code: "bad_gateway", requestId: undefined });
    expect((error as ApiError).message).not.toMatch(/the service answered/);
  });

  it("keeps the request id of the documented error shape, before API Gateway's header", async () => {
    const body = { error: { code: "internal_error", message: "an internal error occurred", request_id: "req-500" } };
    const api = createApi(
      { localUser: "alice" },
      { baseUrl: "", fetchImpl: answering(500, JSON.stringify(body), { "apigw-requestid": "gw-1" }) },
    );
    const error = await api.create({ username: "x", displayName: "" }, "k").catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, code: "internal_error", requestId: "req-500" });
  });

  it("reads API Gateway's own 500 as an internal error, with its apigw-requestid", async () => {
    const api = createApi(
      { localUser: "alice" },
      {
        baseUrl: "",
        fetchImpl: answering(500, JSON.stringify({ message: "Internal Server Error" }), { "apigw-requestid": "gw-500" }),
      },
    );
    const error = await api.list().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, code: "internal_error", requestId: "gw-500" });
    expect((error as ApiError).message).toBe("HTTP 500 from a gateway: Internal Server Error");
  });

  it("names a gateway's 503 and 504 pages apart from the service's own 503, and any other status unknown", async () => {
    const failing = async (status: number, body: string) =>
      createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl: answering(status, body) })
        .create({ username: "x", displayName: "" }, "k")
        .catch((e: unknown) => e);
    expect(await failing(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>")).toMatchObject({
      status: 504,
      code: "gateway_timeout",
    });
    expect(await failing(503, JSON.stringify({ message: "Service Unavailable" }))).toMatchObject({
      status: 503,
      code: "gateway_unavailable",
    });
    expect(await failing(418, "I'm a teapot")).toMatchObject({ status: 418, code: "unknown", requestId: undefined });
  });

  it("asks for the next page by its cursor", async () => {
    const fetchImpl = answering(200, JSON.stringify({ accounts: [] }));
    await createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl }).list("abc/+=");
    expect(sent(fetchImpl).url).toBe("/api/email/my-accounts?limit=100&cursor=abc%2F%2B%3D");
  });
});

describe("createApi, administrators' calls", () => {
  it("sends a local run's groups as X-User-Groups, and never with a token", async () => {
    const local = answering(200, JSON.stringify({ accounts: [] }));
    await createApi({ localUser: "root", localGroups: ["email-admins", "ops"] }, { baseUrl: "", fetchImpl: local }).list();
    expect(sent(local).headers["X-User-Groups"]).toBe("email-admins,ops");
    expect(sent(local).headers["X-User-Id"]).toBe("root");

    const withoutGroups = answering(200, JSON.stringify({ accounts: [] }));
    await createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl: withoutGroups }).list();
    expect(sent(withoutGroups).headers["X-User-Groups"]).toBeUndefined();

    const token = answering(200, JSON.stringify({ accounts: [] }));
    await createApi({ token: "a.b.c" }, { baseUrl: "", fetchImpl: token }).adminAccounts({});
    expect(sent(token).headers["X-User-Groups"]).toBeUndefined();
    expect(sent(token).headers.Authorization).toBe("Bearer a.b.c");
  });

  it("lists every address with the filters that have a value, and the cursor", async () => {
    const fetchImpl = answering(200, JSON.stringify({ accounts: [] }));
    const api = createApi({ token: "a.b.c" }, { baseUrl: "https://api.example.com", fetchImpl });
    await api.adminAccounts({ owner: "bob", domain: "", provider: "sandbox", status: "active", q: " con+t@ " }, "c/1=");
    const { url, init, headers } = sent(fetchImpl);
    expect(init.method).toBe("GET");
    expect(url).toBe(
      "https://api.example.com/api/admin/accounts?owner=bob&provider=sandbox&status=active&q=con%2Bt%40&cursor=c%2F1%3D",
    );
    expect(headers.Accept).toBe("application/json");
    expect(init.body).toBeUndefined();
  });

  it("asks for no filter at all with none", async () => {
    const fetchImpl = answering(200, JSON.stringify({ accounts: [] }));
    await createApi({ localUser: "root" }, { baseUrl: "", fetchImpl }).adminAccounts({});
    expect(sent(fetchImpl).url).toBe("/api/admin/accounts");
  });

  it("transfers an address: its escaped path, POST, the new owner and the rotation in the body", async () => {
    const answer = { previous_owner: "alice", account: { email: "a+b@example.com", owner: "bob" } };
    const fetchImpl = answering(200, JSON.stringify(answer));
    const api = createApi({ localUser: "root", localGroups: ["email-admins"] }, { baseUrl: "", fetchImpl });
    expect(await api.transfer("a+b@example.com", "bob", true)).toEqual(answer);
    const { url, init, headers } = sent(fetchImpl);
    expect(url).toBe("/api/admin/accounts/a%2Bb%40example.com/transfer");
    expect(init.method).toBe("POST");
    expect(headers["Content-Type"]).toBe("application/json");
    expect(headers["X-User-Groups"]).toBe("email-admins");
    expect(JSON.parse(init.body as string)).toEqual({ owner: "bob", rotate: true });
  });

  it("off-boards a user with the heir in the body and the Idempotency-Key it is given", async () => {
    const fetchImpl = answering(200, JSON.stringify({ user: "carol", to: "dave", addresses: [] }));
    await createApi({ token: "a.b.c" }, { baseUrl: "", fetchImpl }).offboard("carol/x", "dave", "key-9");
    const { url, init, headers } = sent(fetchImpl);
    expect(url).toBe("/api/admin/users/carol%2Fx/offboard");
    expect(init.method).toBe("POST");
    expect(headers["Idempotency-Key"]).toBe("key-9");
    expect(JSON.parse(init.body as string)).toEqual({ to: "dave" });
  });

  it("reads the audit trail with its filters and cursor, and as CSV with the same filters", async () => {
    const json = answering(200, JSON.stringify({ entries: [] }));
    const filter = { address: "contact@example.com", actor: "", owner: "alice", action: "transferred", from: "2026-11-01", to: "2026-11-30" };
    await createApi({ token: "a.b.c" }, { baseUrl: "", fetchImpl: json }).audit(filter, "next");
    expect(sent(json).url).toBe(
      "/api/admin/audit?address=contact%40example.com&owner=alice&action=transferred&from=2026-11-01&to=2026-11-30&cursor=next",
    );
    expect(sent(json).init.method).toBe("GET");

    const csv = answering(200, "at,action\n2026-11-25T09:00:00Z,created\n", { "Content-Type": "text/csv" });
    const blob = await createApi({ token: "a.b.c" }, { baseUrl: "", fetchImpl: csv }).auditCsv(filter);
    const { url, headers } = sent(csv);
    expect(url).toBe(
      "/api/admin/audit?address=contact%40example.com&owner=alice&action=transferred&from=2026-11-01&to=2026-11-30&limit=1000",
    );
    expect(headers.Accept).toBe("text/csv");
    expect(headers.Authorization).toBe("Bearer a.b.c");
    expect(blob.type).toMatch(/^text\/csv/);
    expect(await blob.text()).toBe("at,action\n2026-11-25T09:00:00Z,created\n");
  });

  it("reads the report by its range and grouping, as JSON and as CSV", async () => {
    const json = answering(200, JSON.stringify({ from: "2026-11-01", to: "2026-11-30", group_by: "owner", rows: [] }));
    await createApi({ localUser: "root" }, { baseUrl: "", fetchImpl: json }).report({
      from: "2026-11-01",
      to: "2026-11-30",
      groupBy: "owner",
    });
    expect(sent(json).url).toBe("/api/admin/report?from=2026-11-01&to=2026-11-30&group_by=owner");

    const csv = answering(200, "day,creates\n");
    await createApi({ localUser: "root" }, { baseUrl: "", fetchImpl: csv }).reportCsv({ groupBy: "day" });
    expect(sent(csv).url).toBe("/api/admin/report?group_by=day");
    expect(sent(csv).headers.Accept).toBe("text/csv");
  });

  it("turns a refused CSV into an ApiError like any other answer", async () => {
    const body = { error: { code: "forbidden", message: "this route is for administrators (ADMIN_GROUPS) only", request_id: "r" } };
    const api = createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl: answering(403, JSON.stringify(body)) });
    const error = await api.auditCsv({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, code: "forbidden" });
  });
});
