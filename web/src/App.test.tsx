import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { account, adminAccount, created, jwt } from "./components/testing";
import { signInRequest } from "./session";

/** A fetch standing in for the API: `routes` answer by method and path. */
function serving(routes: Record<string, (init: RequestInit) => Response>) {
  return vi.fn(async (url: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(url).split("?")[0];
    const route = routes[`${init.method ?? "GET"} ${path}`];
    return route ? route(init) : new Response(JSON.stringify({ message: "Not Found" }), { status: 404 });
  });
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const policy = {
  domains: [{ domain: "example.com", provider: "sandbox" }],
  providers: ["sandbox"],
  provider_details: [{ name: "sandbox", least_privilege: true, note: null, capacity: null }],
  daily_create_limit: 10,
  address_quarantine_days: 30,
};

describe("App", () => {
  beforeEach(() => {
    sessionStorage.clear();
    window.history.replaceState(null, "", "/");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks a signed-out visitor for a token, then calls the API with it", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "" }} />);
    const token = jwt({ sub: "user-1", exp: Math.floor(Date.now() / 1000) + 3600 });
    await user.click(screen.getByLabelText("Or paste your sign-in token (JWT)"));
    await user.paste(token);
    await user.click(screen.getByRole("button", { name: "Use this token" }));
    expect(await screen.findByText("You have no address yet.")).toBeInTheDocument();
    expect(screen.getByText(/Signed in until/)).toBeInTheDocument();
    const headers = fetchImpl.mock.calls.map(([, init]) => (init?.headers as Record<string, string>).Authorization);
    expect(headers).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
    expect(sessionStorage.getItem("email-provisioning.token")).toBe(token);
  });

  it("signs in with a token handed back from the sign-in it started", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
    });
    vi.stubGlobal("fetch", fetchImpl);
    const state = new URL(signInRequest("https://app.example.com/login", sessionStorage)).searchParams.get("state");
    const token = jwt({ sub: "user-1", exp: Math.floor(Date.now() / 1000) + 3600 });
    window.history.replaceState(null, "", `/?x=1#token=${token}&state=${state}`);
    // As main.tsx renders it: StrictMode's second read of the address (now bare) must not undo the first.
    render(
      <StrictMode>
        <App settings={{ apiBaseUrl: "", signInUrl: "https://app.example.com/login" }} />
      </StrictMode>,
    );
    expect(await screen.findByText("You have no address yet.")).toBeInTheDocument();
    expect(window.location.hash).toBe("");
    expect(window.location.search).toBe("?x=1");
    expect(sessionStorage.getItem("email-provisioning.token")).toBe(token);
    expect((fetchImpl.mock.calls[0][1]?.headers as Record<string, string>).Authorization).toBe(`Bearer ${token}`);
  });

  it("refuses a token in a link that no sign-in here started, and says why", async () => {
    const fetchImpl = serving({});
    vi.stubGlobal("fetch", fetchImpl);
    const token = jwt({ sub: "someone-else", exp: Math.floor(Date.now() / 1000) + 3600 });
    window.history.replaceState(null, "", `/#token=${token}&state=guessed`);
    render(
      <StrictMode>
        <App settings={{ apiBaseUrl: "", signInUrl: "https://app.example.com/login" }} />
      </StrictMode>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent(
      "That sign-in link did not come from a sign-in started here, so it was not used. Sign in again.",
    );
    expect(screen.getByRole("link", { name: "Sign in with the product" })).toBeInTheDocument();
    expect(window.location.hash).toBe("");
    expect(sessionStorage.getItem("email-provisioning.token")).toBeNull();
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it("goes back to the sign-in, saying why, when the API refuses the token", async () => {
    sessionStorage.setItem("email-provisioning.token", jwt({ sub: "user-1" }));
    vi.stubGlobal(
      "fetch",
      serving({
        "GET /api/email/policy": () => json({ message: "Unauthorized" }, 401),
        "GET /api/email/my-accounts": () => json({ message: "Unauthorized" }, 401),
      }),
    );
    render(<App settings={{ apiBaseUrl: "", signInUrl: "https://app.example.com/login" }} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Your session has expired or was refused.");
    expect(screen.getByRole("link", { name: "Sign in with the product" })).toBeInTheDocument();
    expect(sessionStorage.getItem("email-provisioning.token")).toBeNull();
  });

  it("goes back to the sign-in, explaining, when an action needs a second factor", async () => {
    sessionStorage.setItem("email-provisioning.token", jwt({ sub: "user-1", exp: Math.floor(Date.now() / 1000) + 3600 }));
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
      "POST /api/email/create": () =>
        json(
          {
            error: {
              code: "mfa_required",
              message: "to create an address you must sign in again with a second factor (multi-factor authentication)",
              request_id: "req-1",
            },
          },
          403,
        ),
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", signInUrl: "https://app.example.com/login" }} />);
    await user.type(await screen.findByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "That needs a second factor, and nothing was changed. Sign in again with multi-factor authentication",
    );
    expect(screen.getByRole("link", { name: "Sign in with the product" })).toBeInTheDocument();
    expect(sessionStorage.getItem("email-provisioning.token")).toBeNull();
  });

  it("in a local build acts as its user, lists, and signs nobody out", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () =>
        json({
          accounts: [
            {
              email: "contact@example.com", display_name: "Contact", provider: "sandbox", status: "active",
              smtp_server: "smtp.sandbox.invalid", smtp_port: 587, smtp_username: "contact@example.com",
              smtp_authentication: "password", webmail: null, created_at: "2026-11-25T09:00:00Z",
              emails_sent_today: 0, emails_sent_month: 3, bounces_month: 0, complaints_month: 0,
              stats_updated_at: null, stats_unavailable_reason: null, guard_rails: { enforced: true },
            },
          ],
          next_cursor: "page-2",
        }),
    });
    vi.stubGlobal("fetch", fetchImpl);
    render(<App settings={{ apiBaseUrl: "", localUser: "alice" }} />);
    expect(await screen.findByRole("article", { name: "contact@example.com" })).toBeInTheDocument();
    expect(screen.getByText("Local run, acting as alice")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Sign out" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Show more addresses" })).toBeInTheDocument();
    expect((fetchImpl.mock.calls[0][1]?.headers as Record<string, string>)["X-User-Id"]).toBe("alice");
  });

  it("shows one set of credentials at a time, with the focus on them, and hides them on request or on delete", async () => {
    let accounts: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      serving({
        "GET /api/email/policy": () => json(policy),
        "GET /api/email/my-accounts": () => json({ accounts }),
        "POST /api/email/create": () => {
          accounts = [account("contact@example.com")];
          return json(created("contact@example.com", "sandbox-First-1"), 201);
        },
        "POST /api/email/accounts/contact%40example.com/rotate-credentials": () =>
          json(created("contact@example.com", "sandbox-Second-2")),
        "DELETE /api/email/accounts/contact%40example.com": () => {
          accounts = [];
          return json({ email: "contact@example.com", status: "deleted", available_again_at: "2026-12-31T00:00:00Z" });
        },
      }),
    );
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", localUser: "alice" }} />);
    await user.type(await screen.findByLabelText("Username"), "contact");
    await user.click(screen.getByRole("button", { name: "Create address" }));
    // The focus moves once the card is shown: wait for the move, not only the card.
    await waitFor(() => expect(screen.getByRole("heading", { name: "Credentials of contact@example.com" })).toHaveFocus());
    expect(screen.getByText("sandbox-First-1")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Copy the password" }));
    expect(screen.getByText("Password copied.")).toBeInTheDocument();

    const rotate = await screen.findByRole("button", { name: "Rotate credentials of contact@example.com" });
    await user.click(rotate);
    await waitFor(() => expect(screen.getByRole("heading", { name: "New credentials of contact@example.com" })).toHaveFocus());
    // The create's password, no longer valid, is gone from the page, and what was said of it.
    expect(screen.queryByText("sandbox-First-1")).not.toBeInTheDocument();
    expect(screen.queryByText("Password copied.")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /hide the password/ }));
    expect(screen.queryByText("sandbox-Second-2")).not.toBeInTheDocument();
    expect(rotate).toHaveFocus();

    await user.click(rotate);
    await screen.findByText("sandbox-Second-2");
    await user.click(screen.getByRole("button", { name: "Delete contact@example.com" }));
    await user.click(screen.getByRole("button", { name: "Yes, delete contact@example.com" }));
    expect(await screen.findByText("You have no address yet.")).toBeInTheDocument();
    expect(screen.queryByText("sandbox-Second-2")).not.toBeInTheDocument();
  });

  it("lets every text that carries an address wrap: checked, created, listed, up for deletion, deleted", async () => {
    const long = "kundenservice.zahlungsverkehr@example.com";
    let accounts: unknown[] = [];
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () => json({ accounts }),
      "POST /api/email/check-availability": () => json({ email: long, available: true, suggestions: [] }),
      "POST /api/email/create": () => {
        accounts = [account(long)];
        return json(created(long, "sandbox-First-1"), 201);
      },
      "DELETE /api/email/accounts/kundenservice.zahlungsverkehr%40example.com": () => {
        accounts = [];
        return json({ email: long, status: "deleted", available_again_at: "2026-12-31T00:00:00Z" });
      },
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", localUser: "alice@example.com" }} />);
    await user.type(await screen.findByLabelText("Username"), "kundenservice.zahlungsverkehr");
    expect(await screen.findByText(`${long} is available.`, {}, { timeout: 2000 })).toBeInTheDocument();
    expect(unwrappable()).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Create address" }));
    await screen.findByRole("heading", { name: `Credentials of ${long}` });
    await screen.findByRole("article", { name: long });
    await user.click(screen.getByRole("button", { name: `Delete ${long}` }));
    screen.getByRole("group", { name: `Confirm deleting ${long}` });
    expect(unwrappable()).toEqual([]);
    await user.click(screen.getByRole("button", { name: `Yes, delete ${long}` }));
    expect(await screen.findByText(`${long} is deleted. Nobody can create it again before 2026-12-31.`)).toBeInTheDocument();
    expect(unwrappable()).toEqual([]);
  });

  it("looks at the list again after a create a gateway lost the answer of: it may be there", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json(policy),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
      "POST /api/email/create": () =>
        new Response("<html><body><h1>504 Gateway Time-out</h1></body></html>", {
          status: 504,
          headers: { "apigw-requestid": "gw-504" },
        }),
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", localUser: "alice" }} />);
    await user.type(await screen.findByLabelText("Username"), "contact");
    const lists = () => fetchImpl.mock.calls.filter(([url]) => String(url).includes("/my-accounts")).length;
    await screen.findByText("You have no address yet.");
    const before = lists();
    await user.click(screen.getByRole("button", { name: "Create address" }));
    const alert = await screen.findByText(/^The service did not answer in time\./);
    expect(alert).toHaveTextContent("The address may or may not have been created");
    expect(alert).toHaveTextContent("quote the request id gw-504.");
    expect(alert).not.toHaveTextContent("the service answered");
    await vi.waitFor(() => expect(lists()).toBe(before + 1));
  });
});

describe("App, for administrators", () => {
  beforeEach(() => {
    sessionStorage.clear();
    window.history.replaceState(null, "", "/");
  });
  afterEach(() => vi.unstubAllGlobals());

  const adminRoutes = {
    "GET /api/admin/audit": () => json({ entries: [] }),
    "GET /api/admin/report": () => json({ from: "2026-10-27", to: "2026-11-25", group_by: "day", rows: [] }),
  };

  it("shows no trace of the Administration view to someone the policy does not call an administrator", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json({ ...policy, administrator: false }),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
    });
    vi.stubGlobal("fetch", fetchImpl);
    render(<App settings={{ apiBaseUrl: "", localUser: "alice" }} />);
    expect(await screen.findByText("You have no address yet.")).toBeInTheDocument();
    await screen.findByLabelText("Username");
    expect(screen.queryByRole("button", { name: "Administration" })).not.toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Views" })).not.toBeInTheDocument();
    expect(screen.queryByText(/Administration|Every address|Audit trail|Off-boarding/)).not.toBeInTheDocument();
    expect(fetchImpl.mock.calls.some(([url]) => String(url).includes("/api/admin/"))).toBe(false);
  });

  it("sends a local build's groups, names them, and switches between the two views", async () => {
    const fetchImpl = serving({
      "GET /api/email/policy": () => json({ ...policy, administrator: true }),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
      "GET /api/admin/accounts": () => json({ accounts: [adminAccount("contact@example.com", { owner: "bob" })] }),
      ...adminRoutes,
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", localUser: "root", localGroups: ["email-admins"] }} />);
    expect(screen.getByText("Local run, acting as root (groups: email-admins)")).toBeInTheDocument();
    const mine = await screen.findByRole("button", { name: "My addresses" });
    const admin = screen.getByRole("button", { name: "Administration" });
    expect(mine).toHaveAttribute("aria-pressed", "true");
    expect(admin).toHaveAttribute("aria-pressed", "false");
    expect((fetchImpl.mock.calls[0][1]?.headers as Record<string, string>)["X-User-Groups"]).toBe("email-admins");

    await user.click(admin);
    expect(admin).toHaveAttribute("aria-pressed", "true");
    const card = await screen.findByRole("article", { name: "contact@example.com" });
    expect(within(card).getByText("bob")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Audit trail" })).toBeInTheDocument();
    expect(screen.getByLabelText("Username")).not.toBeVisible();
    expect(unwrappable()).toEqual([]);

    // Back: the user's own view as it was, the Administration view kept (hidden) with what was typed in it.
    await user.type(screen.getByLabelText("Owner (user id)"), "bob");
    await user.click(mine);
    expect(screen.getByLabelText("Username")).toBeVisible();
    expect(screen.queryByRole("heading", { name: "Every address" })).not.toBeInTheDocument();
    await user.click(admin);
    expect(screen.getByLabelText("Owner (user id)")).toHaveValue("bob");
  });

  it("shows a transfer's new credentials once, in the Administration view, and reads every address again", async () => {
    let owner = "alice";
    const fetchImpl = serving({
      "GET /api/email/policy": () => json({ ...policy, administrator: true }),
      "GET /api/email/my-accounts": () => json({ accounts: [] }),
      "GET /api/admin/accounts": () => json({ accounts: [adminAccount("contact@example.com", { owner })] }),
      "POST /api/admin/accounts/contact%40example.com/transfer": (init) => {
        const body = JSON.parse(init.body as string) as { owner: string; rotate: boolean };
        owner = body.owner;
        return json({
          previous_owner: "alice",
          account: adminAccount("contact@example.com", { owner }),
          credentials: created("contact@example.com", "sandbox-Handed-3").credentials,
        });
      },
      ...adminRoutes,
    });
    vi.stubGlobal("fetch", fetchImpl);
    const user = userEvent.setup();
    render(<App settings={{ apiBaseUrl: "", localUser: "root", localGroups: ["email-admins"] }} />);
    await user.click(await screen.findByRole("button", { name: "Administration" }));
    await user.click(await screen.findByRole("button", { name: "Transfer… contact@example.com" }));
    await user.type(screen.getByLabelText("New owner's user id"), "bob");
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    await user.click(screen.getByRole("button", { name: "Yes, give contact@example.com to bob" }));

    const heading = await screen.findByRole("heading", { name: "New credentials of contact@example.com, now bob's" });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(screen.getAllByText("sandbox-Handed-3")).toHaveLength(1);
    const card = await screen.findByRole("article", { name: "contact@example.com" });
    await vi.waitFor(() => expect(within(card).getByText("bob")).toBeInTheDocument());
    expect(unwrappable()).toEqual([]);
    // Not on the user's own view: it belongs to the administration.
    await user.click(screen.getByRole("button", { name: "My addresses" }));
    expect(screen.getByText("sandbox-Handed-3")).not.toBeVisible();
    expect(screen.getByLabelText("Username")).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Administration" }));
    expect(screen.getByText("sandbox-Handed-3")).toBeVisible();
    await user.click(screen.getByRole("button", { name: /hide the password/ }));
    expect(screen.queryByText("sandbox-Handed-3")).not.toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Every address" })).toHaveFocus();
  });
});

/**
 * The elements whose own text names an address (has an `@`) but that may not
 * break it: none should be (jsdom has no layout, so this is the class, not a width).
 */
function unwrappable(): string[] {
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found: string[] = [];
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const element = node.parentElement;
    if (!element || !node.textContent?.includes("@")) continue;
    // Out of the layout (a screen reader's words), or a select's option (the select has a max-width).
    if (element.closest(".visually-hidden, option")) continue;
    if (!element.closest(".carries-address")) found.push(`<${element.tagName.toLowerCase()}> ${node.textContent}`);
  }
  return found;
}

