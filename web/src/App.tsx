import { useCallback, useEffect, useMemo, useState } from "react";
import type { Account } from "./api/client";
import { createApi } from "./api/client";
import { AccountsList } from "./components/AccountsList";
import { CreatePanel } from "./components/CreatePanel";
import { describeError } from "./messages";

/** Until the sign-in hand-over exists, local runs name the user (AUTH_MODE=local). */
export function App() {
  const api = useMemo(() => createApi({ localUser: "alice" }), []);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [problem, setProblem] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api
      .list()
      .then((page) => {
        setAccounts(page.accounts);
        setProblem(null);
      })
      .catch((error: unknown) => setProblem(describeError(error)));
  }, [api]);

  useEffect(refresh, [refresh]);

  return (
    <main>
      <h1>Company email addresses</h1>
      <CreatePanel api={api} onCreated={refresh} />
      {problem && <p role="alert">{problem}</p>}
      <AccountsList api={api} accounts={accounts} onChanged={refresh} />
    </main>
  );
}
