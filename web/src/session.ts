// How the panel learns who the user is. In production: the product's
// sign-in token (a JWT), handed over in the address's fragment
// (`#token=…`, or `#access_token=`/`#id_token=` as an OAuth implicit
// redirect names it) with the `state` of a sign-in this tab started, or
// pasted by hand; API Gateway verifies it, the panel only reads its expiry
// to say when to sign in again. In a local run: the user id that
// VITE_LOCAL_USER names, sent as X-User-Id, and the groups VITE_LOCAL_GROUPS
// names, sent as X-User-Groups (AUTH_MODE=local).
import type { Identity } from "./api/client";

/** A local run's caller: a user id, and the groups standing for a token's groups claim. */
export type LocalIdentity = Extract<Identity, { localUser: string }>;

export interface Session {
  identity: Identity;
  /** When the token stops being accepted, if it says. */
  expiresAt?: Date;
}

/** Kept for this tab only: closing it signs out. */
const TOKEN_KEY = "email-provisioning.token";
const FRAGMENT_NAMES = ["token", "access_token", "id_token"];
/** The `state` of the sign-in this tab started, until its hand-over comes back. */
const STATE_KEY = "email-provisioning.sign-in-state";

export type TokenProblem = "malformed" | "expired";

/** A JWT as a session, or why it cannot be one. Its signature is API Gateway's to check. */
export function sessionFromToken(raw: string, now: Date = new Date()): Session | TokenProblem {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return "malformed";
  let claims: { exp?: unknown };
  try {
    claims = JSON.parse(decodeBase64Url(parts[1]));
  } catch {
    return "malformed";
  }
  if (typeof claims !== "object" || claims === null) return "malformed";
  const expiresAt = typeof claims.exp === "number" ? new Date(claims.exp * 1000) : undefined;
  if (expiresAt && expiresAt <= now) return "expired";
  return { identity: { token }, expiresAt };
}

function decodeBase64Url(part: string): string {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) =>
    c.charCodeAt(0),
  );
  return new TextDecoder().decode(bytes);
}

/**
 * The product's sign-in address for a sign-in started here: it carries a
 * fresh random `state`, kept for this tab, which the hand-over must bring
 * back in the fragment. Without it anyone could send a link whose token
 * signs the user in to another account. The configured address keeps its
 * own query.
 */
export function signInRequest(signInUrl: string, storage: Storage, base: string = window.location.href): string {
  const state = randomState();
  storage.setItem(STATE_KEY, state);
  const url = new URL(signInUrl, base);
  url.searchParams.set("state", state);
  return url.toString();
}

/** 32 random bytes, base64url: not to be guessed by whoever crafts a link. */
function randomState(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The session this page opens with: the local user (with its groups), else a token handed
 * over in the fragment (taken out of the address bar at once, so it is not
 * bookmarked or shared), else the one this tab kept.
 *
 * A handed-over token is used only with the `state` of the sign-in this tab
 * started (see `signInRequest`), and that state only once. Any other one
 * came from a link this panel did not ask for: it is neither used nor kept,
 * `onRefused` is told, and the page opens signed out (forgetting a token
 * this tab kept, so the sign-in screen and a reload agree).
 */
export function openingSession(
  local: LocalIdentity | undefined,
  location: Pick<Location, "hash" | "pathname" | "search">,
  history: Pick<History, "replaceState">,
  storage: Storage,
  onRefused: () => void = () => {},
): Session | null {
  if (local?.localUser) {
    const localGroups = local.localGroups?.filter(Boolean) ?? [];
    return { identity: localGroups.length ? { localUser: local.localUser, localGroups } : { localUser: local.localUser } };
  }
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const handedOver = FRAGMENT_NAMES.map((name) => fragment.get(name)).find(Boolean);
  if (handedOver) {
    history.replaceState(null, "", `${location.pathname}${location.search}`);
    const expected = storage.getItem(STATE_KEY);
    storage.removeItem(STATE_KEY);
    if (!expected || fragment.get("state") !== expected) {
      forget(storage);
      onRefused();
      return null;
    }
    const session = sessionFromToken(handedOver);
    if (typeof session !== "string") {
      keep(storage, session);
      return session;
    }
  }
  const kept = storage.getItem(TOKEN_KEY);
  if (!kept) return null;
  const session = sessionFromToken(kept);
  if (typeof session === "string") {
    storage.removeItem(TOKEN_KEY);
    return null;
  }
  return session;
}

export function keep(storage: Storage, session: Session): void {
  if ("token" in session.identity) storage.setItem(TOKEN_KEY, session.identity.token);
}

export function forget(storage: Storage): void {
  storage.removeItem(TOKEN_KEY);
}
