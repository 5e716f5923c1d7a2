import { ApiError } from "./api/client";

/** What the refused call was about: a create leaves nothing, a change leaves the address as it was. */
export type Attempt = "create" | "change" | "read";

const AFTERMATH: Record<Attempt, string> = {
  create: " Nothing was created.",
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
    case "rate_limited":
      return `You have created as many addresses as allowed today. You can create more in ${wait(error.retryAfterSeconds)}.`;
    case "throttled":
      return `The service is busy. Try again in a few seconds.${aftermath}`;
    case "provider_error":
      return `The mail provider refused: ${error.message}.${aftermath}`;
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

function wait(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "a while";
  const total = Math.max(Math.ceil(seconds / 60), 1);
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours === 0) return `${minutes} min`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}
