import { beforeEach, describe, expect, it, vi } from "vitest";
import { jwt } from "./components/testing";
import { openingSession, sessionFromToken } from "./session";

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("sessionFromToken", () => {
  it("takes a JWT (with or without 'Bearer ') and reads its expiry", () => {
    const exp = inAnHour();
    const session = sessionFromToken(`Bearer ${jwt({ sub: "user-1", exp })}\n`);
    expect(session).toEqual({ identity: { token: jwt({ sub: "user-1", exp }) }, expiresAt: new Date(exp * 1000) });
  });

  it("refuses what is not a JWT, and one that has expired", () => {
    expect(sessionFromToken("not-a-token")).toBe("malformed");
    expect(sessionFromToken("a.b")).toBe("malformed");
    expect(sessionFromToken("e30.bm90IGpzb24.c2ln")).toBe("malformed");
    expect(sessionFromToken(jwt({ sub: "user-1", exp: 1_000_000 }))).toBe("expired");
  });
});

describe("openingSession", () => {
  const history = { replaceState: vi.fn() };
  beforeEach(() => {
    sessionStorage.clear();
    history.replaceState.mockClear();
  });

  it("takes a token handed over in the fragment, keeps it for the tab, and takes it out of the address", () => {
    const token = jwt({ sub: "user-1", exp: inAnHour() });
    const location = { hash: `#access_token=${token}&token_type=Bearer`, pathname: "/panel/", search: "?x=1" };
    const session = openingSession(undefined, location, history, sessionStorage);
    expect(session?.identity).toEqual({ token });
    expect(history.replaceState).toHaveBeenCalledWith(null, "", "/panel/?x=1");
    // A reload of the tab (no fragment any more) keeps the session.
    const reloaded = openingSession(undefined, { hash: "", pathname: "/panel/", search: "" }, history, sessionStorage);
    expect(reloaded?.identity).toEqual({ token });
  });

  it("forgets a kept token once it has expired", () => {
    sessionStorage.setItem("email-provisioning.token", jwt({ sub: "user-1", exp: 1_000_000 }));
    expect(openingSession(undefined, { hash: "", pathname: "/", search: "" }, history, sessionStorage)).toBeNull();
    expect(sessionStorage.length).toBe(0);
  });

  it("acts as the local user of a local build, whatever the address says", () => {
    const location = { hash: `#token=${jwt({ sub: "user-1" })}`, pathname: "/", search: "" };
    expect(openingSession("alice", location, history, sessionStorage)).toEqual({ identity: { localUser: "alice" } });
    expect(sessionStorage.length).toBe(0);
  });
});
