import { useCallback, useEffect, useMemo, useState } from "react";
import type { Account, Created, OffboardReport, Policy } from "./api/client";
import { createApi } from "./api/client";
import { AccountsList } from "./components/AccountsList";
import { AdminView } from "./components/admin/AdminView";
import type { View } from "./components/admin/ViewSwitch";
import { ViewSwitch } from "./components/admin/ViewSwitch";
import { CreatePanel } from "./components/CreatePanel";
import { CredentialsCard } from "./components/CredentialsCard";
import { SignIn } from "./components/SignIn";
import { describeError } from "./messages";
import type { Session } from "./session";
import { forget, keep, openingSession } from "./session";

/** Build-time settings (see docs/WEB.md, "Build-time settings"). */
export interface Settings {
  /** A local run's user id (AUTH_MODE=local); never set for production. */
  localUser?: string;
  /** A local run's groups (sent as X-User-Groups, standing for a token's groups claim); never set for production. */
  localGroups?: string[];
  /** The product's sign-in page, which sends the user back with `#token=…&state=…`. */
  signInUrl?: string;
  apiBaseUrl?: string;
}

const BUILD_SETTINGS: Settings = {
  localUser: import.meta.env.VITE_LOCAL_USER || undefined,
  localGroups: groups(import.meta.env.VITE_LOCAL_GROUPS),
  signInUrl: import.meta.env.VITE_SIGN_IN_URL || undefined,
  apiBaseUrl: import.meta.env.VITE_API_BASE_URL,
};

/** A comma-separated list of groups, as VITE_LOCAL_GROUPS holds them. */
function groups(list: string | undefined): string[] | undefined {
  const names = (list ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  return names.length ? names : undefined;
}

const SECOND_FACTOR_NEEDED =
  "That needs a second factor, and nothing was changed. Sign in again with multi-factor authentication (a one-time code or a security key), then try it again.";

const HAND_OVER_REFUSED =
  "That sign-in link did not come from a sign-in started here, so it was not used. Sign in again.";

/** The session the page opens with, and what the sign-in says when a hand-over was refused. */
function opening(settings: Settings): { session: Session | null; notice?: string } {
  let notice: string | undefined;
  const session = openingSession(
    settings.localUser ? { localUser: settings.localUser, localGroups: settings.localGroups } : undefined,
    window.location,
    window.history,
    window.sessionStorage,
    () => (notice = HAND_OVER_REFUSED),
  );
  return { session, notice };
}

export function App({ settings = BUILD_SETTINGS }: { settings?: Settings }) {
  // Read once: the hand-over is taken out of the address (and its state used up) at the first read.
  const [opened] = useState(() => opening(settings));
  const [session, setSession] = useState<Session | null>(opened.session);
  const [notice, setNotice] = useState<string | undefined>(opened.notice);

  const signOut = useCallback((why?: string) => {
    forget(window.sessionStorage);
    setSession(null);
    setNotice(why);
  }, []);
  const expire = useCallback(
    () => signOut("Your session has expired or was refused. Sign in again."),
    [signOut],
  );
  const stepUp = useCallback(() => signOut(SECOND_FACTOR_NEEDED), [signOut]);

  return (
    <>
      <header className="top">
        <h1>Company email addresses</h1>
        {session && "token" in session.identity && (
          <p className="who">
            {session.expiresAt && <>Signed in until {time(session.expiresAt)}. </>}
            <button type="button" onClick={() => signOut()}>
              Sign out
            </button>
          </p>
        )}
        {session && "localUser" in session.identity && (
          <p className="who carries-address">
            Local run, acting as {session.identity.localUser}
            {session.identity.localGroups?.length ? ` (groups: ${session.identity.localGroups.join(", ")})` : ""}
          </p>
        )}
      </header>
      <main>
        {session ? (
          <Panel
            session={session}
            apiBaseUrl={settings.apiBaseUrl}
            onUnauthorized={expire}
            onSecondFactorNeeded={stepUp}
          />
        ) : (
          <SignIn
            signInUrl={settings.signInUrl}
            notice={notice}
            onSession={(next) => {
              keep(window.sessionStorage, next);
              setNotice(undefined);
              setSession(next);
            }}
          />
        )}
      </main>
    </>
  );
}

/**
 * Credentials on show: one set at a time (a rotation's replaces a create's),
 * and the control to give the focus back to once they are hidden.
 */
interface Revealed {
  /** Tells one reveal from the next, so each card starts afresh. */
  serial: number;
  created: Created;
  title: string;
  returnFocus: Element | null;
  /** The view it belongs to: a create's or rotation's in "mine", a transfer's in "admin". */
  view: View;
}

/**
 * The signed-in page: the create panel beside the list of the user's
 * addresses and, for an administrator, the Administration view, one at a
 * time (each keeps its state while the other shows).
 */
function Panel({
  session,
  apiBaseUrl,
  onUnauthorized,
  onSecondFactorNeeded,
}: {
  session: Session;
  apiBaseUrl?: string;
  onUnauthorized: () => void;
  /** A sensitive action refused for want of a second factor (`REQUIRE_MFA_FOR`). */
  onSecondFactorNeeded: () => void;
}) {
  const api = useMemo(
    () => createApi(session.identity, { baseUrl: apiBaseUrl, onUnauthorized, onSecondFactorNeeded }),
    [session, apiBaseUrl, onUnauthorized, onSecondFactorNeeded],
  );
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | null>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [view, setView] = useState<View>("mine");
  // Mounted at its first opening, then kept (hidden) with its filters while the user's own view shows.
  const [adminOpened, setAdminOpened] = useState(false);
  const administrator = policy?.administrator === true;
  const showing: View = administrator ? view : "mine";

  function reveal(created: Created, title: string, where: View = "mine") {
    setRevealed((shown) => ({
      serial: (shown?.serial ?? 0) + 1,
      created,
      title,
      returnFocus: document.activeElement,
      view: where,
    }));
  }

  function open(next: View) {
    if (next === "admin") setAdminOpened(true);
    setView(next);
  }

  /** Addresses changed hands: the own list may differ, and credentials on show that an off-boarding replaced are of no use. */
  function handedOver(report?: OffboardReport) {
    const replaced = report?.addresses.some(
      (entry) => entry.credentials_rotated && entry.address === revealed?.created.email,
    );
    if (replaced) setRevealed(null);
    refresh();
  }

  function hide() {
    const target = revealed?.returnFocus;
    setRevealed(null);
    if (target instanceof HTMLElement && target.isConnected) target.focus();
  }

  /** The first page afresh, or (given a cursor) the next one after those shown. */
  const load = useCallback(
    (after?: string) => {
      api
        .list(after)
        .then((page) => {
          setAccounts((shown) => (after ? [...shown, ...page.accounts] : page.accounts));
          setNextCursor(page.next_cursor ?? undefined);
          setProblem(null);
        })
        .catch((error: unknown) => setProblem(describeError(error)));
    },
    [api],
  );
  const refresh = useCallback(() => load(), [load]);

  useEffect(refresh, [refresh]);
  useEffect(() => {
    api
      .policy()
      .then(setPolicy)
      .catch((error: unknown) => setProblem(describeError(error)));
  }, [api]);

  const card = (where: View) =>
    revealed?.view === where && (
      <CredentialsCard key={revealed.serial} created={revealed.created} title={revealed.title} onDone={hide} />
    );

  return (
    <>
      {administrator && <ViewSwitch view={showing} onChange={open} />}
      {administrator && adminOpened && (
        <div hidden={showing !== "admin"}>
          <AdminView
            api={api}
            policy={policy}
            credentials={card("admin")}
            onCredentials={(created, title) => reveal(created, title, "admin")}
            onChanged={handedOver}
          />
        </div>
      )}
      <div className="panel" hidden={showing !== "mine"}>
        {problem && (
          <p role="alert" className="problem carries-address">
            {problem}
          </p>
        )}
        <div className="create-column">
          <CreatePanel
            api={api}
            policy={policy}
            onCreated={(created) => {
              reveal(created, `Credentials of ${created.email}`);
              refresh();
            }}
            // A failed create may have created the address all the same: the list says.
            onFailed={refresh}
          />
          {card("mine")}
        </div>
        <div className="accounts-column">
          <AccountsList
            api={api}
            accounts={accounts}
            quarantineDays={policy?.address_quarantine_days}
            onChanged={refresh}
            onRotated={(rotated) => reveal(rotated, `New credentials of ${rotated.email}`)}
            onRemoved={(email) => {
              if (revealed?.created.email === email) setRevealed(null);
            }}
          />
          {nextCursor && (
            <button type="button" onClick={() => load(nextCursor)}>
              Show more addresses
            </button>
          )}
        </div>
      </div>
    </>
  );
}

function time(at: Date): string {
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
