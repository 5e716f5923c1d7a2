import { ApiError } from "./api/client";

/** An API error as a sentence a person can act on. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return "The service could not be reached. Check your connection and try again.";
  }
  switch (error.code) {
    case "address_taken":
      return "That address is already taken. Pick one of the suggestions, or try another name.";
    case "address_reserved":
      return "That name is reserved for the company. Pick one of the suggestions, or try another name.";
    case "rate_limited":
      return `You have created as many addresses as allowed today. You can create more in ${wait(error.retryAfterSeconds)}.`;
    case "provider_error":
      return `The mail provider refused: ${error.message}. Nothing was created.`;
    case "provider_unavailable":
    case "service_unavailable":
      return "The mail provider cannot be reached right now. Nothing was created; try again in a few minutes.";
    case "unauthorized":
      return "You are not signed in, or your session has expired. Sign in again.";
    default:
      return error.message;
  }
}

function wait(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "a while";
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.ceil((seconds % 3600) / 60);
  if (hours === 0) return `${Math.max(minutes, 1)} min`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}
