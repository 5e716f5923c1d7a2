import { ApiError } from "./api/client";

/**
 * What the refused call was about: a create leaves nothing, a change (a
 * rotation among them) leaves the address as it was.
 */
export type Attempt = "create" | "rotate" | "change" | "read";

const AFTERMATH: Record<Attempt, string> = {
  create: " Nothing was created.",
  rotate: " The address is as it was.",
  change: " The address is as it was.",
  read: "",
};

/** An API error as a sentence a person can act on. */
export function describeError(error: unknown, attempt: Attempt = "read"): string {
  const aftermath = AFTERMATH[attempt];
  if (!(error instanceof ApiError)) {
    return `The service could not be reached. Check your connection and try again.${aftermath}`;
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
      // The server says what is not allowed (creating at all, or that provider); only an administrator can change it.
      return `You are not allowed to do this: ${clause(error.message)}. Ask an administrator if you need it.${aftermath}`;
    case "credentials_rotated":
      // A retried request whose credentials were replaced since: the old password is gone, and is not shown.
      return attempt === "create"
        ? "That address exists (this request created it earlier), but its credentials have been rotated since, so no password is shown. If you lost the password, rotate its credentials from your list."
        : "These credentials have been rotated again since this request, so no password is shown. If you lost the password, rotate the credentials again.";
    case "throttled":
      return `The service is busy. Try again in a few seconds.${aftermath}`;
    case "provider_error":
      return `The mail provider refused: ${clause(error.message)}.${aftermath}`;
    case "provider_unavailable":
    case "service_unavailable":
      return `The mail provider cannot be reached right now. Try again in a few minutes.${aftermath}`;
    case "request_in_progress":
      return "Another change of this address is under way. Try again in a moment.";
    case "account_disabled":
      return "This address is disabled: enable it first.";
    case "account_not_found":
      return "That address is not among yours any more (deleted elsewhere?). The list has been refreshed.";
    case "unauthorized":
      return "You are not signed in, or your session has expired. Sign in again.";
    default:
      return error.message;
  }
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
