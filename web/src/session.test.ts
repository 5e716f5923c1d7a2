import { beforeEach, describe, expect, it, vi } from "vitest";
import { jwt } from "./components/testing";
import { openingSession, sessionFromToken, signInRequest } from "./session";

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const STATE_KEY = "email-provisioning.sign-in-state";
const TOKEN_KEY = "email-provisioning.token";

/** Starts a sign-in as the link does, and gives back the state it stored. */
function startSignIn(): string {
  return new URL(signInRequest("https://app.example.com/login", sessionStorage)).searchParams.get("state")!;
}

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

describe("signInRequest", () => {
  beforeEach(() => sessionStorage.clear());

  it("adds a fresh random state to the sign-in address, keeping its query, and stores it for the tab", () => {
    const first = new URL(signInRequest("https://app.example.com/login?next=panel", sessionStorage));
    expect(first.origin + first.pathname).toBe("https://app.example.com/login");
    expect(first.searchParams.get("next")).toBe("panel");
    const state = first.searchParams.get("state");
    // 32 bytes, base64url without padding.
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionStorage.getItem(STATE_KEY)).toBe(state);
    // Each sign-in its own: the next one replaces it.
    const second = new URL(signInRequest("https://app.example.com/login", sessionStorage)).searchParams.get("state");
    expect(second).not.toBe(state);
    expect(sessionStorage.getItem(STATE_KEY)).toBe(second);
  });
});

describe("openingSession", () => {
  const history = { replaceState: vi.fn() };
  const onRefused = vi.fn();
  const handingOver = (fragment: string) => ({ hash: `#${fragment}`, pathname: "/panel/", search: "?x=1" });
  beforeEach(() => {
    sessionStorage.clear();
    history.replaceState.mockClear();
    onRefused.mockClear();
  });

  it("takes a token handed over with the state of the sign-in started here, keeps it for the tab, and takes it out of the address", () => {
    const token = jwt({ sub: "user-1", exp: inAnHour() });
    const state = startSignIn();
    const location = handingOver(`access_token=${token}&token_type=Bearer&state=${state}`);
    const session = openingSession(undefined, location, history, sessionStorage, onRefused);
    expect(session?.identity).toEqual({ token });
    expect(history.replaceState).toHaveBeenCalledWith(null, "", "/panel/?x=1");
    expect(onRefused).not.toHaveBeenCalled();
    // The state is used up.
    expect(sessionStorage.getItem(STATE_KEY)).toBeNull();
    // A reload of the tab (no fragment any more) keeps the session.
    const reloaded = openingSession(undefined, { hash: "", pathname: "/panel/", search: "" }, history, sessionStorage);
    expect(reloaded?.identity).toEqual({ token });
  });

  it.each([
    ["without a state", (_state: string) => ""],
    ["with another state", (state: string) => `&state=${state.slice(1)}x`],
  ])("refuses a token handed over %s: neither used nor kept, out of the address, the state used up", (_, stateOf) => {
    const state = startSignIn();
    const location = handingOver(`token=${jwt({ sub: "attacker", exp: inAnHour() })}${stateOf(state)}`);
    expect(openingSession(undefined, location, history, sessionStorage, onRefused)).toBeNull();
    expect(onRefused).toHaveBeenCalledTimes(1);
    expect(history.replaceState).toHaveBeenCalledWith(null, "", "/panel/?x=1");
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(sessionStorage.getItem(STATE_KEY)).toBeNull();
  });

  it("refuses a token when no sign-in was started here, whatever state it brings", () => {
    const location = handingOver(`token=${jwt({ sub: "attacker", exp: inAnHour() })}&state=guessed`);
    expect(openingSession(undefined, location, history, sessionStorage, onRefused)).toBeNull();
    expect(onRefused).toHaveBeenCalledTimes(1);
    expect(history.replaceState).toHaveBeenCalledWith(null, "", "/panel/?x=1");
    expect(sessionStorage.length).toBe(0);
  });

  it("takes a state once only: a second hand-over with it is refused, and signs the tab out", () => {
    const state = startSignIn();
    const open = (token: string) =>
      openingSession(undefined, handingOver(`token=${token}&state=${state}`), history, sessionStorage, onRefused);
    const mine = jwt({ sub: "user-1", exp: inAnHour() });
    expect(open(mine)?.identity).toEqual({ token: mine });
    expect(open(jwt({ sub: "attacker", exp: inAnHour() }))).toBeNull();
    expect(onRefused).toHaveBeenCalledTimes(1);
    // Neither token is left: the sign-in screen and a reload agree.
    expect(sessionStorage.length).toBe(0);
  });

  it("forgets a kept token once it has expired", () => {
    sessionStorage.setItem(TOKEN_KEY, jwt({ sub: "user-1", exp: 1_000_000 }));
    expect(openingSession(undefined, { hash: "", pathname: "/", search: "" }, history, sessionStorage)).toBeNull();
    expect(sessionStorage.length).toBe(0);
  });

  it("acts as the local user of a local build, whatever the address says", () => {
    const location = { hash: `#token=${jwt({ sub: "user-1" })}`, pathname: "/", search: "" };
    expect(openingSession({ localUser: "alice" }, location, history, sessionStorage, onRefused)).toEqual({ identity: { localUser: "alice" } });
    expect(sessionStorage.length).toBe(0);
    expect(onRefused).not.toHaveBeenCalled();
  });

  it("keeps a local build's groups, and only when there are some", () => {
    const location = { hash: "", pathname: "/", search: "" };
    expect(
      openingSession({ localUser: "root", localGroups: ["email-admins", ""] }, location, history, sessionStorage),
    ).toEqual({ identity: { localUser: "root", localGroups: ["email-admins"] } });
    expect(openingSession({ localUser: "alice", localGroups: [] }, location, history, sessionStorage)).toEqual({
      identity: { localUser: "alice" },
    });
  });
});
