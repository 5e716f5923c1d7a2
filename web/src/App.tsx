import { useCallback, useEffect, useMemo, useState } from "react";
import type { Account, Created, Policy } from "./api/client";
import { createApi } from "./api/client";
import { AccountsList } from "./components/AccountsList";
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
  /** The product's sign-in page, which sends the user back with `#token=…&state=…`. */
  signInUrl?: string;
  apiBaseUrl?: string;
}

const BUILD_SETTINGS: Settings = {
  localUser: import.meta.env.VITE_LOCAL_USER || undefined,
  signInUrl: import.meta.env.VITE_SIGN_IN_URL || undefined,
  apiBaseUrl: import.meta.env.VITE_API_BASE_URL,
};

const HAND_OVER_REFUSED =
  "That sign-in link did not come from a sign-in started here, so it was not used. Sign in again.";

/** The session the page opens with, and what the sign-in says when a hand-over was refused. */
function opening(settings: Settings): { session: Session | null; notice?: string } {
  let notice: string | undefined;
  const session = openingSession(
    settings.localUser,
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
          <p className="who carries-address">Local run, acting as {session.identity.localUser}</p>
        )}
      </header>
      <main>
        {session ? (
          <Panel
            session={session}
            apiBaseUrl={settings.apiBaseUrl}
            onUnauthorized={expire}
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
}

/** The signed-in page: the create panel beside the list of the user's addresses. */
function Panel({
  session,
  apiBaseUrl,
  onUnauthorized,
}: {
  session: Session;
  apiBaseUrl?: string;
  onUnauthorized: () => void;
}) {
  const api = useMemo(
    () => createApi(session.identity, { baseUrl: apiBaseUrl, onUnauthorized }),
    [session, apiBaseUrl, onUnauthorized],
  );
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | null>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);

  function reveal(created: Created, title: string) {
    setRevealed((shown) => ({
      serial: (shown?.serial ?? 0) + 1,
      created,
      title,
      returnFocus: document.activeElement,
    }));
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

  return (
    <div className="panel">
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
        {revealed && (
          <CredentialsCard
            key={revealed.serial}
            created={revealed.created}
            title={revealed.title}
            onDone={hide}
          />
        )}
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
  );
}

function time(at: Date): string {
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
