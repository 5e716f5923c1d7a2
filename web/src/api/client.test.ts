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
