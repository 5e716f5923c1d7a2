import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../../api/client";
import { ApiError, createApi } from "../../api/client";
import {
  adminAccount,
  auditEntry,
  domainChecks,
  fakeApi,
  offboardReport,
  offeredDomain,
  policy,
  report,
  reportRow,
} from "../testing";
import { AdminView } from "./AdminView";

/** The view with every callback a mock. */
function renderView(api: Api) {
  const onCredentials = vi.fn();
  const onChanged = vi.fn();
  render(
    <AdminView
      api={api}
      policy={policy({ domains: [offeredDomain("example.com", "sandbox"), offeredDomain("support.example.com", "ses")] })}
      onCredentials={onCredentials}
      onChanged={onChanged}
    />,
  );
  return { onCredentials, onChanged };
}

/** The value of the fact `label` in a card. */
function fact(card: HTMLElement, label: string): string {
  return within(card).getByText(label, { selector: "dt" }).nextElementSibling?.textContent ?? "";
}

const contact = adminAccount("contact@example.com", { owner: "alice", display_name: "Contact" });
const news = adminAccount("news@support.example.com", { owner: "carol", provider: "ses", status: "disabled" });

describe("AdminView: every address", () => {
  it("shows each address with its owner, display name, provider, status and created day", async () => {
    renderView(fakeApi({ adminAccounts: vi.fn(async () => ({ accounts: [contact, news] })) }));
    const card = await screen.findByRole("article", { name: "contact@example.com" });
    expect(within(card).getByText("Contact")).toBeInTheDocument();
    expect(fact(card, "Owner")).toBe("alice");
    expect(fact(card, "Provider")).toBe("Sandbox (not real mail)");
    expect(fact(card, "Status")).toBe("Active");
    expect(fact(card, "Created")).toBe("2026-11-25");
    const other = screen.getByRole("article", { name: "news@support.example.com" });
    expect(fact(other, "Owner")).toBe("carol");
    expect(fact(other, "Provider")).toBe("Amazon SES");
    expect(fact(other, "Status")).toBe("Disabled (not sending)");
  });

  it("shows why an address is suspended, and lifts it when asked", async () => {
    const suspended = adminAccount("sales@support.example.com", {
      provider: "ses",
      status: "suspended",
      suspension: { reason: "complaint_rate", since: "2026-11-25T10:00:00Z", lifted_by: "administrator" },
    });
    const adminAccounts = vi.fn(async () => ({ accounts: [contact, suspended] }));
    const api = fakeApi({ adminAccounts });
    const user = userEvent.setup();
    renderView(api);
    const card = await screen.findByRole("article", { name: "sales@support.example.com" });
    expect(fact(card, "Status")).toBe("Suspended (not sending)");
    expect(fact(card, "Why it is suspended")).toMatch(/marked its messages as spam .* Only an administrator can enable it again/);
    const active = screen.getByRole("article", { name: "contact@example.com" });
    expect(within(active).queryByRole("button", { name: /Resume sending/ })).not.toBeInTheDocument();
    const calls = adminAccounts.mock.calls.length;
    await user.click(within(card).getByRole("button", { name: "Resume sending of sales@support.example.com" }));
    expect(api.setSending).toHaveBeenCalledWith("sales@support.example.com", true);
    expect(await screen.findByText(/sales@support.example.com sends again/)).toBeInTheDocument();
    await vi.waitFor(() => expect(adminAccounts.mock.calls.length).toBeGreaterThan(calls));
  });

  it("asks for the filters as given, pages by cursor, and clears them", async () => {
    const adminAccounts = vi.fn(async (_filter: object, cursor?: string) =>
      cursor ? { accounts: [news] } : { accounts: [contact], next_cursor: "page-2" },
    );
    renderView(fakeApi({ adminAccounts }));
    const user = userEvent.setup();
    await screen.findByRole("article", { name: "contact@example.com" });
    expect(adminAccounts).toHaveBeenLastCalledWith({}, undefined);

    await user.type(screen.getByLabelText("Owner (user id)"), " bob ");
    await user.type(screen.getByLabelText("Part of the address"), "cont");
    await user.selectOptions(screen.getByLabelText("Domain"), "support.example.com");
    await user.selectOptions(screen.getByLabelText("Provider"), "Amazon SES");
    await user.selectOptions(screen.getByLabelText("Status"), "Disabled (not sending)");
    await user.click(screen.getByRole("button", { name: "Filter the addresses" }));
    const filter = { owner: "bob", q: "cont", domain: "support.example.com", provider: "ses", status: "disabled" };
    expect(adminAccounts).toHaveBeenLastCalledWith(filter, undefined);

    await user.click(await screen.findByRole("button", { name: "Show more addresses" }));
    expect(adminAccounts).toHaveBeenLastCalledWith(filter, "page-2");
    expect(await screen.findByRole("article", { name: "news@support.example.com" })).toBeInTheDocument();
    expect(screen.getByRole("article", { name: "contact@example.com" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Clear the filters" }));
    expect(adminAccounts).toHaveBeenLastCalledWith({}, undefined);
    expect(screen.getByLabelText("Owner (user id)")).toHaveValue("");
  });

  it("refuses a part of the address the service would not take, without asking it", async () => {
    const adminAccounts = vi.fn(async () => ({ accounts: [] }));
    renderView(fakeApi({ adminAccounts }));
    const user = userEvent.setup();
    await screen.findByText("There is no address yet.");
    await user.type(screen.getByLabelText("Part of the address"), "a b");
    await user.click(screen.getByRole("button", { name: "Filter the addresses" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Part of the address may hold only letters, digits");
    expect(adminAccounts).toHaveBeenCalledTimes(1);
  });

  it("says so, as a sentence, when the service does not count the caller as an administrator", async () => {
    const forbidden = async () => {
      throw new ApiError(403, "forbidden", "this route is for administrators (ADMIN_GROUPS) only");
    };
    renderView(fakeApi({ adminAccounts: vi.fn(forbidden), audit: vi.fn(forbidden), report: vi.fn(forbidden) }));
    const alerts = await screen.findAllByText(/^Only administrators can do this, and the service does not count you as one/);
    expect(alerts).toHaveLength(3);
  });
});

describe("AdminView: a transfer", () => {
  it("names who gets what, starts on the safe choice, and Escape gives the focus back to Transfer…", async () => {
    const api = fakeApi({ adminAccounts: vi.fn(async () => ({ accounts: [contact] })) });
    renderView(api);
    const user = userEvent.setup();
    const open = await screen.findByRole("button", { name: "Transfer… contact@example.com" });
    await user.click(open);
    expect(open).toHaveAttribute("aria-expanded", "true");
    const owner = screen.getByLabelText("New owner's user id");
    expect(owner).toHaveFocus();
    expect(screen.getByLabelText("Give it new credentials (the old ones stop working)")).toBeChecked();
    await user.type(owner, "bob");
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));

    const confirmation = screen.getByRole("group", { name: "Confirm transferring contact@example.com" });
    expect(within(confirmation).getByText(/^Give/)).toHaveTextContent(
      "Give contact@example.com to bob, with new credentials? alice will no longer see it, and the credentials in use now stop working; the new ones are shown here once.",
    );
    expect(screen.getByRole("button", { name: "Don't transfer" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("group", { name: /Confirm transferring/ })).not.toBeInTheDocument();
    expect(open).toHaveFocus();
    expect(api.transfer).not.toHaveBeenCalled();
  });

  it("with new credentials: transfers, hands them on to be shown once, says what happened and reads the list again", async () => {
    const adminAccounts = vi.fn(async () => ({ accounts: [contact] }));
    const api = fakeApi({ adminAccounts });
    const { onCredentials, onChanged } = renderView(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Transfer… contact@example.com" }));
    await user.type(screen.getByLabelText("New owner's user id"), "bob");
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    const calls = adminAccounts.mock.calls.length;
    await user.click(screen.getByRole("button", { name: "Yes, give contact@example.com to bob" }));

    expect(api.transfer).toHaveBeenCalledWith("contact@example.com", "bob", true);
    expect(onCredentials).toHaveBeenCalledTimes(1);
    const [shown, title] = onCredentials.mock.calls[0];
    expect(title).toBe("New credentials of contact@example.com, now bob's");
    expect(shown).toMatchObject({ email: "contact@example.com", credentials: { password: "sandbox-Handed-3" } });
    expect(onChanged).toHaveBeenCalled();
    expect(await screen.findByText(/^contact@example\.com is now bob's \(it was alice's\): its new credentials/)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Every address" })).toHaveFocus();
    await vi.waitFor(() => expect(adminAccounts.mock.calls.length).toBeGreaterThan(calls));
  });

  it("without new credentials: says the old ones still work, and shows none", async () => {
    const api = fakeApi({ adminAccounts: vi.fn(async () => ({ accounts: [contact] })) });
    const { onCredentials } = renderView(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Transfer… contact@example.com" }));
    await user.type(screen.getByLabelText("New owner's user id"), "bob");
    await user.click(screen.getByLabelText("Give it new credentials (the old ones stop working)"));
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    expect(screen.getByRole("group", { name: "Confirm transferring contact@example.com" })).toHaveTextContent(
      "Give contact@example.com to bob, with the same credentials? alice will no longer see it, but whoever has its credentials now can still send with them.",
    );
    await user.click(screen.getByRole("button", { name: "Yes, give contact@example.com to bob" }));
    expect(api.transfer).toHaveBeenCalledWith("contact@example.com", "bob", false);
    expect(await screen.findByText("contact@example.com is now bob's (it was alice's), with the same credentials.")).toBeInTheDocument();
    expect(onCredentials).not.toHaveBeenCalled();
  });

  it("asks for a new owner who is not the owner already, before asking the service", async () => {
    const api = fakeApi({ adminAccounts: vi.fn(async () => ({ accounts: [contact] })) });
    renderView(api);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Transfer… contact@example.com" }));
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Enter the new owner's user id.");
    await user.type(screen.getByLabelText("New owner's user id"), "alice");
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    expect(screen.getByRole("alert")).toHaveTextContent("contact@example.com is already alice's: name someone else.");
    expect(screen.getByLabelText("New owner's user id")).toHaveFocus();
  });

  it("says how to transfer a disabled address, keeping the form to try without new credentials", async () => {
    const transfer = vi.fn(async () => {
      throw new ApiError(409, "account_disabled", "a rotation needs the address enabled");
    });
    renderView(fakeApi({ adminAccounts: vi.fn(async () => ({ accounts: [news] })), transfer }));
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Transfer… news@support.example.com" }));
    await user.type(screen.getByLabelText("New owner's user id"), "bob");
    await user.click(screen.getByRole("button", { name: "Review the transfer" }));
    await user.click(screen.getByRole("button", { name: "Yes, give news@support.example.com to bob" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "This address is disabled, so it cannot get new credentials: enable it first or transfer without new credentials.",
    );
    expect(screen.getByLabelText("New owner's user id")).toHaveValue("bob");
    expect(screen.getByLabelText("New owner's user id")).toHaveFocus();
  });
});

describe("AdminView: off-boarding", () => {
  async function confirmOffboarding(user: ReturnType<typeof userEvent.setup>, leaver = "alice", heir = "bob") {
    await user.type(screen.getByLabelText("Leaver's user id"), leaver);
    await user.type(screen.getByLabelText("Heir's user id (who gets the addresses)"), heir);
    await user.click(screen.getByRole("button", { name: "Review the off-boarding" }));
  }

  it("names who gets what, and Escape keeps everything as it was", async () => {
    const api = fakeApi();
    renderView(api);
    const user = userEvent.setup();
    await confirmOffboarding(user);
    const confirmation = screen.getByRole("group", { name: "Confirm off-boarding alice" });
    expect(within(confirmation).getByText(/^Move/)).toHaveTextContent(
      "Move every address of alice to bob and give each new credentials? alice will no longer see them and the credentials alice has stop working; a disabled address moves with its credentials as they are. bob gets no password here: they rotate an address's credentials to get one.",
    );
    expect(screen.getByRole("button", { name: "Don't off-board" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.getByRole("button", { name: "Review the off-boarding" })).toHaveFocus();
    expect(api.offboard).not.toHaveBeenCalled();
  });

  it("shows the report address by address, and how to retry what was not moved", async () => {
    const offboard = vi.fn(async (user: string, to: string, _key: string) =>
      offboardReport(user, to, [
        { address: "contact@example.com", outcome: "transferred", credentials_rotated: true, message: null },
        { address: "paused@example.com", outcome: "transferred", credentials_rotated: false, message: "disabled: moved as it is" },
        { address: "sales@example.com", outcome: "failed", credentials_rotated: false, message: "the provider refused: boom" },
        { address: "new@example.com", outcome: "skipped", credentials_rotated: false, message: "a create of it is under way" },
      ]),
    );
    const { onChanged } = renderView(fakeApi({ offboard }));
    const user = userEvent.setup();
    await confirmOffboarding(user);
    await user.click(screen.getByRole("button", { name: "Yes, move every address of alice to bob" }));

    const heading = await screen.findByRole("heading", { name: "Off-boarding of alice to bob" });
    await vi.waitFor(() => expect(heading).toHaveFocus());
    expect(offboard).toHaveBeenCalledWith("alice", "bob", expect.stringMatching(/\S/));
    expect(onChanged).toHaveBeenCalledWith(expect.objectContaining({ user: "alice", to: "bob" }));
    expect(screen.getByText("2 transferred, 1 failed, 1 skipped.")).toBeInTheDocument();
    const items = within(screen.getByRole("list", { name: "Addresses of alice" })).getAllByRole("listitem");
    expect(items.map((item) => [item.querySelector("strong")?.textContent, fact(item, "Outcome"), fact(item, "New credentials")])).toEqual([
      ["contact@example.com", "Transferred", "Yes"],
      ["paused@example.com", "Transferred", "No"],
      ["sales@example.com", "Failed: still the leaver's", "No"],
      ["new@example.com", "Skipped: still the leaver's", "No"],
    ]);
    expect(fact(items[2], "Message")).toBe("the provider refused: boom");
    expect(
      screen.getByText(
        "The failed and skipped addresses are still alice's, as they were. Off-board alice again to retry them: it moves only what is still theirs.",
      ),
    ).toBeInTheDocument();

    // Again: a new off-boarding, so a new Idempotency-Key.
    await user.click(screen.getByRole("button", { name: "Off-board alice again" }));
    await user.click(screen.getByRole("button", { name: "Yes, move every address of alice to bob" }));
    await vi.waitFor(() => expect(offboard).toHaveBeenCalledTimes(2));
    expect(offboard.mock.calls[1][2]).not.toBe(offboard.mock.calls[0][2]);
  });

  it("sends the same request again, with the same key, after an answer that never came", async () => {
    let calls = 0;
    const offboard = vi.fn(async (user: string, to: string, _key: string) => {
      calls += 1;
      if (calls === 1) throw new ApiError(504, "gateway_timeout", "HTTP 504 from a gateway");
      return offboardReport(user, to, []);
    });
    renderView(fakeApi({ offboard }));
    const user = userEvent.setup();
    await confirmOffboarding(user, "carol", "dave");
    await user.click(screen.getByRole("button", { name: "Yes, move every address of carol to dave" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The service did not answer in time. Some addresses may have moved: try the same off-boarding again (it moves nothing twice) to read its report.",
    );
    const retry = screen.getByRole("button", { name: "Try the off-boarding of carol again" });
    expect(retry).toHaveFocus();
    await user.click(retry);
    expect(await screen.findByText("carol has no address: nothing was moved.")).toBeInTheDocument();
    expect(offboard.mock.calls[1]).toEqual(offboard.mock.calls[0]);
  });

  it("moves nothing, and asks for someone else, when leaver and new owner are the same", async () => {
    const api = fakeApi();
    renderView(api);
    const user = userEvent.setup();
    await confirmOffboarding(user, "alice", "alice");
    expect(screen.getByRole("alert")).toHaveTextContent(
      "The leaver and the heir are the same user: name someone else to receive the addresses.",
    );
    expect(api.offboard).not.toHaveBeenCalled();
  });
});

describe("AdminView: the audit trail", () => {
  afterEach(() => vi.restoreAllMocks());

  it("shows the entries in a table, asks for the filters as given, and pages by cursor", async () => {
    const audit = vi.fn(async (_filter: object, cursor?: string) =>
      cursor
        ? { entries: [auditEntry({ request_id: "req-0", at: "2026-11-24T08:00:00Z" })] }
        : {
            entries: [
              auditEntry({
                action: "transferred_and_rotated",
                actor: "root",
                owner: "alice",
                new_owner: "bob",
                request_id: "req-2",
              }),
            ],
            next_cursor: "older",
          },
    );
    renderView(fakeApi({ audit }));
    const user = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Audit entries, newest first" });
    const [header, row] = within(table).getAllByRole("row");
    expect(within(header).getAllByRole("columnheader").map((cell) => cell.textContent)).toEqual([
      "Time", "Action", "Outcome", "Actor", "Owner", "New owner", "Address", "Request id",
    ]);
    expect(within(row).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "2026-11-25 09:00:12 UTC", "Transferred with new credentials", "Success", "root", "alice", "bob",
      "contact@example.com", "req-2",
    ]);
    expect(screen.getByRole("region", { name: "Audit entries" })).toHaveAttribute("tabindex", "0");

    await user.type(screen.getByLabelText("Address (all of it)"), "contact@example.com");
    await user.type(screen.getByLabelText("Actor (who did it)"), "root");
    await user.selectOptions(screen.getByLabelText("Action"), "Transferred with new credentials");
    await user.type(screen.getByLabelText("From (UTC day)", { selector: "#audit-from" }), "2026-11-01");
    await user.type(screen.getByLabelText("To (UTC day, included)", { selector: "#audit-to" }), "2026-11-30");
    await user.click(screen.getByRole("button", { name: "Show the entries" }));
    const filter = {
      address: "contact@example.com", actor: "root", owner: "", action: "transferred_and_rotated",
      from: "2026-11-01", to: "2026-11-30",
    };
    expect(audit).toHaveBeenLastCalledWith(filter, undefined);
    await user.click(await screen.findByRole("button", { name: "Show more entries" }));
    expect(audit).toHaveBeenLastCalledWith(filter, "older");
    expect(await screen.findByText("req-0")).toBeInTheDocument();
    expect(screen.getByText("req-2")).toBeInTheDocument();
  });

  it("downloads the CSV through fetch, with the table's filters, Accept: text/csv and the identity, saved as audit.csv", async () => {
    const fetchImpl = vi.fn(async (url: RequestInfo | URL, init: RequestInit = {}) => {
      const accept = (init.headers as Record<string, string>).Accept;
      if (String(url).startsWith("/api/admin/audit") && accept === "text/csv") {
        return new Response("at,action\n2026-11-25T09:00:12Z,created\n", { headers: { "Content-Type": "text/csv" } });
      }
      if (String(url).startsWith("/api/admin/audit")) return new Response(JSON.stringify({ entries: [auditEntry()] }));
      if (String(url).startsWith("/api/admin/report")) return new Response(JSON.stringify(report()));
      return new Response(JSON.stringify({ accounts: [] }));
    });
    const api = createApi({ localUser: "root", localGroups: ["email-admins"] }, { baseUrl: "", fetchImpl });
    const saved: { name: string; href: string }[] = [];
    const createObjectURL = vi.fn((_blob: Blob) => "blob:audit");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push({ name: this.download, href: this.href });
    });
    renderView(api);
    const user = userEvent.setup();
    await screen.findByRole("table", { name: "Audit entries, newest first" });
    await user.selectOptions(screen.getByLabelText("Action"), "Created");
    await user.click(screen.getByRole("button", { name: "Show the entries" }));
    await user.click(screen.getByRole("button", { name: "Download CSV" }));

    expect(await screen.findByText(/^Saved audit\.csv/)).toBeInTheDocument();
    const [url, init] = fetchImpl.mock.calls.find(([, init]) => (init?.headers as Record<string, string>).Accept === "text/csv")!;
    expect(url).toBe("/api/admin/audit?action=created&limit=1000");
    expect(init).toMatchObject({ method: "GET", headers: { Accept: "text/csv", "X-User-Id": "root", "X-User-Groups": "email-admins" } });
    expect(saved).toEqual([{ name: "audit.csv", href: "blob:audit" }]);
    expect(await createObjectURL.mock.calls[0][0].text()).toBe("at,action\n2026-11-25T09:00:12Z,created\n");
    vi.unstubAllGlobals();
  });
});

describe("AdminView: the report", () => {
  it("by day: a table of every counter, and bar charts of the creates and the sends for every day of the range", async () => {
    const answered = report({
      rows: [reportRow("2026-11-23", { creates: 2, sends: 40 }), reportRow("2026-11-25", { creates: 5, deletes: 1, sends: 10 })],
    });
    const reportCall = vi.fn(async () => answered);
    renderView(fakeApi({ report: reportCall }));
    const table = await screen.findByRole("table", { name: "Activity from 2026-11-23 to 2026-11-25, by day" });
    const rows = within(table).getAllByRole("row");
    expect(within(rows[0]).getAllByRole("columnheader").map((cell) => cell.textContent)).toEqual([
      "Day", "Creates", "Failed creates", "Deletes", "Rotations", "Transfers", "Suspensions", "Sends", "Deliveries", "Bounces", "Complaints",
    ]);
    const cells = (row: HTMLElement) => Array.from(row.children, (cell) => cell.textContent);
    expect(rows.slice(1).map(cells)).toEqual([
      ["2026-11-23", "2", "0", "0", "0", "0", "0", "40", "0", "0", "0"],
      ["2026-11-25", "5", "0", "1", "0", "0", "0", "10", "0", "0", "0"],
      ["Total", "7", "0", "1", "0", "0", "0", "50", "0", "0", "0"],
    ]);
    expect(screen.getByRole("region", { name: "Report table" })).toBeInTheDocument();

    const creates = screen.getByRole("img", {
      name: "Creates per day from 2026-11-23 to 2026-11-25: 7 in all, at most 5 a day (2026-11-25).",
    });
    // A bar per day with any (2026-11-24 had none), the tallest full height.
    const bars = creates.querySelectorAll("rect");
    expect(bars).toHaveLength(2);
    expect(bars[1].getAttribute("height")).toBe("100");
    expect(bars[0].getAttribute("height")).toBe("40");
    expect(bars[1].getAttribute("x")).toBe("21");
    expect(
      screen.getByRole("img", { name: "Sends per day from 2026-11-23 to 2026-11-25: 50 in all, at most 40 a day (2026-11-23)." }),
    ).toBeInTheDocument();
    // The range the service chose fills the empty dates.
    expect(screen.getByLabelText("From (UTC day)", { selector: "#report-from" })).toHaveValue("2026-11-23");
  });

  it("asks for the range and grouping chosen; grouped otherwise than by day it draws no chart", async () => {
    const reportCall = vi.fn(async (query: { groupBy?: string }) =>
      query.groupBy === "owner"
        ? report({ group_by: "owner", rows: [reportRow("alice", { creates: 3 }), reportRow("bob", { transfers: 1 })] })
        : report(),
    );
    renderView(fakeApi({ report: reportCall }));
    const user = userEvent.setup();
    await screen.findByText("Nothing happened in these days.");
    expect(reportCall).toHaveBeenLastCalledWith({ groupBy: "day" });
    const from = screen.getByLabelText("From (UTC day)", { selector: "#report-from" });
    await user.clear(from);
    await user.type(from, "2026-11-01");
    await user.selectOptions(screen.getByLabelText("Group by"), "Owner");
    await user.click(screen.getByRole("button", { name: "Show the report" }));
    expect(reportCall).toHaveBeenLastCalledWith({ from: "2026-11-01", to: "2026-11-25", groupBy: "owner" });
    const table = await screen.findByRole("table", { name: /by owner$/ });
    expect(within(table).getAllByRole("rowheader").map((cell) => cell.textContent)).toEqual(["alice", "bob", "Total"]);
    expect(screen.queryByRole("img")).not.toBeInTheDocument();
  });
});

describe("AdminView: the domains", () => {
  it("shows each domain's checks and copies the record to publish", async () => {
    const domains = vi.fn(async () => domainChecks());
    renderView(fakeApi({ domains }));
    const user = userEvent.setup();
    const domain = await screen.findByRole("article", { name: "example.com at sandbox" });
    expect(within(domain).getByText("Ready: mail from it can go out.")).toBeInTheDocument();
    const dmarc = within(domain).getByRole("rowheader", { name: "DMARC" }).closest("tr")!;
    expect(within(dmarc).getByText("Missing")).toBeInTheDocument();
    expect(within(domain).getAllByRole("button", { name: /^Copy/ })).toHaveLength(1);
    await user.click(within(domain).getByRole("button", { name: "Copy the DMARC record of example.com" }));
    expect(await navigator.clipboard.readText()).toBe("v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com");
    await user.click(screen.getByRole("button", { name: "Check again" }));
    expect(domains).toHaveBeenCalledTimes(2);
  });

  it("says why a domain is not ready", async () => {
    const notReady = domainChecks();
    notReady.domains[0] = { ...notReady.domains[0], ready: false, reason: "the SES identity example.com is not verified" };
    renderView(fakeApi({ domains: vi.fn(async () => notReady) }));
    const domain = await screen.findByRole("article", { name: "example.com at sandbox" });
    expect(within(domain).getByText("Not ready: the SES identity example.com is not verified")).toBeInTheDocument();
  });
});
