import { describe, expect, it } from "vitest";
import { ApiError } from "./api/client";
import { describeError } from "./messages";

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

  it("keeps the server's wording for a broken rule", () => {
    const error = new ApiError(422, "invalid_username", "a username may only contain a-z, 0-9, '.', '-' and '_'");
    expect(describeError(error)).toBe("a username may only contain a-z, 0-9, '.', '-' and '_'");
  });

  it("has a sentence for a network failure", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });
});
