import { describe, expect, it } from "vitest";
import { ApiError, createApi } from "./api/client";
import type { Attempt } from "./messages";
import { describeError } from "./messages";

/** The sentence for a create (or a read) that got `status` and `body` back, as the client reads them. */
async function sentenceFor(
  status: number,
  body: string,
  attempt: Attempt,
  headers: Record<string, string> = {},
): Promise<string> {
  const fetchImpl = async () => new Response(body, { status, headers });
  const api = createApi({ localUser: "alice" }, { baseUrl: "", fetchImpl });
  const failed = attempt === "create" ? api.create({ username: "x", displayName: "" }, "k") : api.list();
  const error = await failed.then(
    () => expect.fail("the call should fail"),
    (e: unknown) => e,
  );
  const sentence = describeError(error, attempt);
  expect(sentence).not.toMatch(/the service answered/);
  return sentence;
}

const HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
const HTML_504 = "<html><head><title>504 Gateway Timeout</title></head><body><h1>504 Gateway Timeout</h1></body></html>";

describe("describeError", () => {
  it("says how long a rate-limited user must wait", () => {
    const error = new ApiError(429, "rate_limited", "the daily limit of 10 new addresses is reached", [], 5400);
    expect(describeError(error)).toBe(
      "You have created as many addresses as allowed today. You can create more in 1 h 30 min.",
    );
  });

  it("passes the provider's refusal on and says what it left: nothing after a create, the address as it was after a change", () => {
    const error = new ApiError(502, "provider_error", "sendgrid refused the request: bad name");
    expect(describeError(error, "create")).toMatch(/refused: sendgrid refused the request: bad name\. Nothing was created\.$/);
    expect(describeError(error, "change")).toMatch(/bad name\. The address is as it was\.$/);
  });

  it("rounds a wait up to the minute, never to '1 h 60 min'", () => {
    const error = (seconds: number) => new ApiError(429, "rate_limited", "limit", [], seconds);
    expect(describeError(error(7199))).toMatch(/in 2 h\.$/);
    expect(describeError(error(20))).toMatch(/in 1 min\.$/);
  });

  it("speaks of rotations, not new addresses, when the daily rotation limit is reached", () => {
    const error = new ApiError(429, "rate_limited", "the daily limit of 20 rotations is reached", [], 3600);
    const sentence = describeError(error, "rotate");
    expect(sentence).toBe(
      "You have rotated credentials as many times as allowed today. You can rotate again in 1 h. The address is as it was.",
    );
    expect(sentence).not.toMatch(/addresses|create/);
  });

  it("tells a look-alike name to pick another, as a taken one", () => {
    const error = new ApiError(409, "address_lookalike", "supp0rt passes for support", ["supp0rt-team@example.com"]);
    expect(describeError(error, "create")).toBe(
      "That name looks too much like a reserved or taken address. Pick one of the suggestions, or try another name.",
    );
  });

  it("passes a refusal of rights on, sending the user to an administrator", () => {
    const error = new ApiError(403, "forbidden", "SendGrid is offered to administrators only.");
    expect(describeError(error, "create")).toBe(
      "You are not allowed to do this: SendGrid is offered to administrators only. Ask an administrator if you need it. Nothing was created.",
    );
  });

  it("says no password can be shown for a retried request whose credentials were rotated since", () => {
    const error = new ApiError(409, "credentials_rotated", "the credentials have been rotated since");
    expect(describeError(error, "create")).toMatch(
      /^That address exists .* no password is shown\. If you lost the password, rotate its credentials from your list\.$/,
    );
    expect(describeError(error, "rotate")).toMatch(/rotated again since .* no password is shown/);
  });

  it("says to rotate when a retried request's password was not kept", () => {
    const error = new ApiError(409, "password_not_kept", "no longer kept");
    expect(describeError(error, "rotate")).toMatch(/cannot be shown again\. Rotate the credentials/);
  });

  it("keeps the server's wording for a broken rule", () => {
    const error = new ApiError(422, "invalid_username", "a username may only contain a-z, 0-9, '.', '-' and '_'");
    expect(describeError(error)).toBe("a username may only contain a-z, 0-9, '.', '-' and '_'");
  });

  it("has a sentence for a network failure", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });

  it("turns API Gateway's own 500 into an internal error to try again and report, with its request id", async () => {
    const body = JSON.stringify({ message: "Internal Server Error" });
    expect(await sentenceFor(500, body, "read", { "apigw-requestid": "Fq3vBjDHoAMEbzQ=" })).toBe(
      "The service ran into an internal error. Try again in a moment. If it keeps happening, report it and quote the request id Fq3vBjDHoAMEbzQ=.",
    );
    // Without a request id (the header hidden, or not sent): nothing to quote.
    expect(await sentenceFor(500, body, "read")).toBe(
      "The service ran into an internal error. Try again in a moment. If it keeps happening, report it.",
    );
  });

  it("quotes the error body's request id for the service's own 500, and does not claim a create left nothing", async () => {
    const body = JSON.stringify({
      error: { code: "internal_error", message: "an internal error occurred; quote the request id", request_id: "req-500" },
    });
    expect(await sentenceFor(500, body, "create", { "apigw-requestid": "gw-1" })).toBe(
      "The service ran into an internal error. The address may or may not have been created: look for it in your list of addresses before you try again (if it is there, rotate its credentials to get a password). If it keeps happening, report it and quote the request id req-500.",
    );
  });

  it("turns a gateway's HTML 502 page into a sentence", async () => {
    expect(await sentenceFor(502, HTML_502, "read")).toBe(
      "The gateway in front of the service got no valid answer from it. Try again in a moment. If it keeps happening, report it.",
    );
  });

  it("says a create that met a gateway's HTML 504 may have happened, and to look before trying again", async () => {
    expect(await sentenceFor(504, HTML_504, "create", { "apigw-requestid": "gw-504" })).toBe(
      "The service did not answer in time. The address may or may not have been created: look for it in your list of addresses before you try again (if it is there, rotate its credentials to get a password). If it keeps happening, report it and quote the request id gw-504.",
    );
    expect(await sentenceFor(504, HTML_504, "read")).toBe(
      "The service did not answer in time. Try again in a moment. If it keeps happening, report it.",
    );
  });

  it("gives a status it does not know (418) the general sentence, with the body's request id", async () => {
    expect(await sentenceFor(418, "I'm a teapot", "read")).toBe(
      "Something went wrong: the service gave an answer this page does not understand (HTTP 418). Try again in a moment. If it keeps happening, report it.",
    );
    const body = JSON.stringify({ error: { code: "short_and_stout", message: "tip me over", request_id: "req-418" } });
    expect(await sentenceFor(418, body, "create")).toBe(
      "Something went wrong: the service gave an answer this page does not understand (HTTP 418). The address may or may not have been created: look for it in your list of addresses before you try again (if it is there, rotate its credentials to get a password). If it keeps happening, report it and quote the request id req-418.",
    );
  });

  it("says what a gateway's 503 may have done to a change or a rotation", () => {
    const error = new ApiError(503, "gateway_unavailable", "HTTP 503 from a gateway: Service Unavailable", [], undefined, "gw-503");
    expect(describeError(error, "change")).toBe(
      "The service is unavailable right now. The change may or may not have been made: check your list of addresses before you try again. If it keeps happening, report it and quote the request id gw-503.",
    );
    expect(describeError(error, "rotate")).toBe(
      "The service is unavailable right now. The credentials may or may not have been rotated: rotate them again to get a password you can use. If it keeps happening, report it and quote the request id gw-503.",
    );
  });

  it("keeps the service's own 503 apart from the mail provider's: it undid what it began", () => {
    const own = new ApiError(503, "service_unavailable", "the secret store failed; nothing was created or changed, try again");
    expect(describeError(own, "create")).toBe(
      "The service is unavailable right now. Try again in a few minutes. Nothing was created.",
    );
    const provider = new ApiError(503, "provider_unavailable", "sendgrid did not answer");
    expect(describeError(provider, "create")).toMatch(/^The mail provider cannot be reached right now\./);
  });

  it("tells someone outside the administrators' group that only administrators may, whatever the admin call", () => {
    const error = new ApiError(403, "forbidden", "this route is for administrators (ADMIN_GROUPS) only");
    expect(describeError(error, "admin")).toBe(
      "Only administrators can do this, and the service does not count you as one (any more). Ask to be added to the administrators' group, then sign in again.",
    );
    expect(describeError(error, "transfer")).toMatch(/^Only administrators can do this.* The address is as it was, and still its owner's\.$/);
    expect(describeError(error, "offboard")).toMatch(/^Only administrators can do this.* Nothing was moved\.$/);
  });

  it("says a transfer to the owner it has changed nothing, and an off-boarding to the leaver names no one", () => {
    const error = new ApiError(409, "already_owner", "bob already owns it");
    expect(describeError(error, "transfer")).toBe("That address already belongs to this user: nothing was changed.");
    expect(describeError(error, "offboard")).toBe(
      "The leaver and the heir are the same user: name someone else to receive the addresses.",
    );
  });

  it("tells how to transfer a disabled address: enable it first, or keep its credentials", () => {
    const error = new ApiError(409, "account_disabled", "a rotation needs the address enabled");
    expect(describeError(error, "transfer")).toBe(
      "This address is disabled, so it cannot get new credentials: enable it first or transfer without new credentials.",
    );
    expect(describeError(error, "rotate")).toBe("This address is disabled: enable it first.");
  });

  it("tells to wait when another change of the address, or the same off-boarding, is under way", () => {
    const error = new ApiError(409, "request_in_progress", "another request is under way");
    expect(describeError(error, "transfer")).toBe("Another change of this address is under way. Try again in a moment.");
    expect(describeError(error, "offboard")).toBe(
      "This off-boarding is still under way. Wait a moment, then try it again to read its report.",
    );
  });

  it("says a transferred address that is gone is gone, and a transfer the provider refused left it whole", () => {
    expect(describeError(new ApiError(404, "account_not_found", "no such account"), "transfer")).toBe(
      "That address does not exist any more (deleted elsewhere?). The list has been refreshed.",
    );
    expect(describeError(new ApiError(502, "provider_error", "sandbox refused"), "transfer")).toBe(
      "The mail provider refused: sandbox refused. The address is as it was, and still its owner's.",
    );
    expect(describeError(new ApiError(503, "provider_unavailable", "down"), "transfer")).toBe(
      "The mail provider cannot be reached right now. Try again in a few minutes. The address is as it was, and still its owner's.",
    );
  });

  it("says what a transfer or an off-boarding without an answer may have done", () => {
    const error = new ApiError(504, "gateway_timeout", "HTTP 504 from a gateway", [], undefined, "gw-9");
    expect(describeError(error, "transfer")).toBe(
      "The service did not answer in time. The address may or may not have changed hands: look at its owner in the list before you try again. If it keeps happening, report it and quote the request id gw-9.",
    );
    expect(describeError(error, "offboard")).toBe(
      "The service did not answer in time. Some addresses may have moved: try the same off-boarding again (it moves nothing twice) to read its report. If it keeps happening, report it and quote the request id gw-9.",
    );
  });

  it("names a filter the service could not read", () => {
    const error = new ApiError(400, "invalid_query", 'q is not valid here (got "a b")');
    expect(describeError(error, "admin")).toBe('One of the filters is not valid: q is not valid here (got "a b").');
  });
});
