import { useMemo, useState } from "react";
import { createApi } from "./api/client";
import { AvailabilityField } from "./components/AvailabilityField";

/** Until the sign-in hand-over exists, local runs name the user (AUTH_MODE=local). */
export function App() {
  const api = useMemo(() => createApi({ localUser: "alice" }), []);
  const [username, setUsername] = useState("");
  return (
    <main>
      <h1>Company email addresses</h1>
      <AvailabilityField api={api} value={username} onChange={setUsername} />
    </main>
  );
}
