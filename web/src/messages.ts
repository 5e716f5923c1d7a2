import { ApiError } from "./api/client";

/**
 * What the refused call was about: a create leaves nothing, a change (a
 * rotation among them) leaves the address as it was. The administrators'
 * calls: a transfer leaves the address as it was (its owner too), a
 * refused off-boarding moves nothing, and `admin` is a read of their
 * routes (the list of every address, the audit trail, the report).
 */
export type Attempt = "create" | "rotate" | "change" | "read" | "transfer" | "offboard" | "admin";

const AFTERMATH: Record<Attempt, string> = {
  create: " Nothing was created.",
  rotate: " The address is as it was.",
  change: " The address is as it was.",
  read: "",
  transfer: " The address is as it was, and still its owner's.",
  offboard: " Nothing was moved.",
  admin: "",
};

/** The attempts only administrators make: a 403 there means the caller is not one. */
const ADMINISTRATORS_ONLY = new Set<Attempt>(["transfer", "offboard", "admin"]);

/**
 * What a request whose outcome is unknown (no usable answer came back) may
 * have done, and what to try. The panel sends a fresh Idempotency-Key per
 * click, so a second click is a second request, not a replay of the first:
 * look before trying again.
 */
const UNSURE: Record<Attempt, string> = {
  create:
    " The address may or may not have been created: look for it in your list of addresses before you try again (if it is there, rotate its credentials to get a password).",
  rotate:
    " The credentials may or may not have been rotated: rotate them again to get a password you can use.",
  change: " The change may or may not have been made: check your list of addresses before you try again.",
  read: " Try again in a moment.",
  transfer:
    " The address may or may not have changed hands: look at its owner in the list before you try again.",
  offboard:
    " Some addresses may have moved: try the same off-boarding again (it moves nothing twice) to read its report.",
  admin: " Try again in a moment.",
};

/**
 * The statuses the panel knows (openapi.yaml's, and a gateway's 504): any
 * other gets the general sentence, whatever its body says.
 */
const KNOWN_STATUSES = new Set([400, 401, 403, 404, 405, 409, 410, 413, 422, 429, 500, 502, 503, 504]);

/** An API error as a sentence a person can act on. */
export function describeError(error: unknown, attempt: Attempt = "read"): string {
  const aftermath = AFTERMATH[attempt];
  if (!(error instanceof ApiError)) {
    return `The service could not be reached. Check your connection and try again.${aftermath}`;
  }
  if (!KNOWN_STATUSES.has(error.status) || error.code === "unknown") {
    return unsure(
      `Something went wrong: the service gave an answer this page does not understand (HTTP ${error.status}).`,
      error,
      attempt,
    );
  }
  switch (error.code) {
    case "address_taken":
      return "That address is already taken. Pick one of the suggestions, or try another name.";
    case "address_reserved":
      return "That name is reserved for the company. Pick one of the suggestions, or try another name.";
    case "address_lookalike":
      return "That name looks too much like a reserved or taken address. Pick one of the suggestions, or try another name.";
    case "rate_limited":
      // Creates and rotations each have their own daily limit.
      return attempt === "rotate"
        ? `You have rotated credentials as many times as allowed today. You can rotate again in ${wait(error.retryAfterSeconds)}.${aftermath}`
        : `You have created as many addresses as allowed today. You can create more in ${wait(error.retryAfterSeconds)}.`;
    case "forbidden":
      if (ADMINISTRATORS_ONLY.has(attempt)) {
        return `Only administrators can do this, and the service does not count you as one (any more). Ask to be added to the administrators' group, then sign in again.${aftermath}`;
      }
      // The server says what is not allowed (creating at all, or that provider); only an administrator can change it.
      return `You are not allowed to do this: ${clause(error.message)}. Ask an administrator if you need it.${aftermath}`;
    case "credentials_rotated":
      // A retried request whose credentials were replaced since: the old password is gone, and is not shown.
      return attempt === "create"
        ? "That address exists (this request created it earlier), but its credentials have been rotated since, so no password is shown. If you lost the password, rotate its credentials from your list."
        : "These credentials have been rotated again since this request, so no password is shown. If you lost the password, rotate the credentials again.";
    case "password_not_kept":
      // A retry of a request answered before the upgrade that seals passwords for retries.
      return "This request was answered before the service kept passwords for retries, so its password cannot be shown again. Rotate the credentials from your list to get a new one.";
    case "throttled":
      return `The service is busy. Try again in a few seconds.${aftermath}`;
    case "provider_error":
      return `The mail provider refused: ${clause(error.message)}.${aftermath}`;
    case "provider_capacity_reached":
      return `The mail provider has no room for another address (its keys, users or licences are all in use). An administrator can delete unused addresses or raise the provider's limit.${aftermath}`;
    case "provider_unavailable":
      return `The mail provider cannot be reached right now. Try again in a few minutes.${aftermath}`;
    case "service_unavailable":
      // The service's own 503 (a store or secret it needs failed): it undid what it had begun.
      return `The service is unavailable right now. Try again in a few minutes.${aftermath}`;
    case "request_in_progress":
      return attempt === "offboard"
        ? "This off-boarding is still under way. Wait a moment, then try it again to read its report."
        : "Another change of this address is under way. Try again in a moment.";
    case "account_suspended":
      // The server's sentence says which guard rail and what lifts it.
      return `This address is suspended: ${clause(error.message)}.`;
    case "account_disabled":
      return attempt === "transfer"
        ? "This address is disabled, so it cannot get new credentials: enable it first or transfer without new credentials."
        : "This address is disabled: enable it first.";
    case "already_owner":
      return attempt === "offboard"
        ? "The leaver and the heir are the same user: name someone else to receive the addresses."
        : "That address already belongs to this user: nothing was changed.";
    case "account_not_found":
      return attempt === "transfer"
        ? "That address does not exist any more (deleted elsewhere?). The list has been refreshed."
        : "That address is not among yours any more (deleted elsewhere?). The list has been refreshed.";
    case "route_not_found":
      return attempt === "offboard" ? "That is not a possible user id: check the leaver's id." : error.message;
    case "invalid_query":
      return attempt === "admin" ? `One of the filters is not valid: ${clause(error.message)}.` : error.message;
    case "unauthorized":
      return "You are not signed in, or your session has expired. Sign in again.";
    case "mfa_required":
      return `This needs a second factor: sign in again with multi-factor authentication (a one-time code or a security key), then try again.${aftermath}`;
    // The service's own 500, or its function failing without an answer (API Gateway's 500).
    case "internal_error":
      return unsure("The service ran into an internal error.", error, attempt);
    // A gateway without a usable answer from the service: the request may have run, or not.
    case "bad_gateway":
      return unsure("The gateway in front of the service got no valid answer from it.", error, attempt);
    case "gateway_unavailable":
      return unsure("The service is unavailable right now.", error, attempt);
    case "gateway_timeout":
      return unsure("The service did not answer in time.", error, attempt);
    default:
      return error.message;
  }
}

/** What happened, what it may have done, what to try, and whom to tell (with the request id). */
function unsure(what: string, error: ApiError, attempt: Attempt): string {
  const report = error.requestId
    ? ` If it keeps happening, report it and quote the request id ${error.requestId}.`
    : " If it keeps happening, report it.";
  return `${what}${UNSURE[attempt]}${report}`;
}

/** Someone else's words inside our sentence: without their own closing full stop. */
function clause(message: string): string {
  return message.trim().replace(/\.+$/, "");
}

function wait(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "a while";
  const total = Math.max(Math.ceil(seconds / 60), 1);
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours === 0) return `${minutes} min`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}
