import { useId, useState } from "react";
import type { Session } from "../session";
import { sessionFromToken, signInRequest } from "../session";

const PROBLEMS = {
  malformed: "That is not a sign-in token: a JWT is three parts separated by dots.",
  expired: "That token has expired. Sign in to the product again and copy a new one.",
};

/**
 * No session yet: a link to the product's sign-in (which hands the token
 * back in the address, with the `state` this link stored), or a token
 * pasted by hand (the user chose it: no state to check).
 */
export function SignIn({
  signInUrl,
  notice,
  onSession,
  navigate = (url) => window.location.assign(url),
}: {
  signInUrl?: string;
  notice?: string;
  onSession: (session: Session) => void;
  /** Leaves for the sign-in; a test's stand-in records where to. */
  navigate?: (url: string) => void;
}) {
  const fieldId = useId();
  const hintId = useId();
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const session = sessionFromToken(token);
    if (typeof session === "string") setProblem(PROBLEMS[session]);
    else onSession(session);
  }

  return (
    <section aria-labelledby="sign-in-title" className="card sign-in">
      <h2 id="sign-in-title">Sign in</h2>
      {notice && <p role="alert">{notice}</p>}
      <p>This panel acts for the user signed in to the product.</p>
      {signInUrl && (
        <p>
          <a
            className="button"
            href={signInUrl}
            onClick={(event) => {
              // A fresh state at each press, and always in this tab: the
              // state is kept in this tab's sessionStorage, which the tab a
              // modified click would open cannot read.
              event.preventDefault();
              navigate(signInRequest(signInUrl, window.sessionStorage));
            }}
          >
            Sign in with the product
          </a>
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor={fieldId}>Or paste your sign-in token (JWT)</label>
        <textarea
          id={fieldId}
          rows={4}
          spellCheck={false}
          autoComplete="off"
          value={token}
          aria-describedby={hintId}
          aria-invalid={problem !== null}
          onChange={(event) => {
            setToken(event.target.value);
            setProblem(null);
          }}
        />
        <p id={hintId} className="hint">
          It stays in this tab only and is sent to this service alone; closing the tab signs you out.
        </p>
        {problem && <p role="alert">{problem}</p>}
        <button type="submit" disabled={!token.trim()}>
          Use this token
        </button>
      </form>
    </section>
  );
}
