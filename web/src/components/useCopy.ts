import { useState } from "react";

/**
 * Copies a value to the clipboard and says so (or says to copy it by hand):
 * `copied` is the sentence for a status region.
 */
export function useCopy(): [copied: string, copy: (what: string, value: string) => Promise<void>] {
  const [copied, setCopied] = useState("");
  async function copy(what: string, value: string) {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(`${what} copied.`);
    } catch {
      setCopied(`Could not copy the ${what.toLowerCase()}: select it and copy it by hand.`);
    }
  }
  return [copied, copy];
}
