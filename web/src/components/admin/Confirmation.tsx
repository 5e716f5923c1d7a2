import { useEffect, useRef } from "react";
import type { ReactNode } from "react";
import { ActionButton } from "../ActionButton";

/**
 * Asks before an action that cannot be undone from here: the question, a
 * "yes" that names what it does, and the safe choice, which has the focus
 * first; Escape is the safe choice. While `busy` (the "yes" under way) both
 * keep the focus but do nothing.
 */
export function Confirmation({
  label,
  question,
  confirm,
  cancel,
  busy = false,
  onConfirm,
  onCancel,
}: {
  /** The group's name for screen readers ("Confirm transferring …"). */
  label: string;
  question: ReactNode;
  confirm: string;
  cancel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const safe = useRef<HTMLButtonElement>(null);
  useEffect(() => safe.current?.focus(), []);
  return (
    <div
      role="group"
      aria-label={label}
      className="confirmation"
      onKeyDown={(event) => {
        if (event.key === "Escape" && !busy) {
          event.stopPropagation();
          onCancel();
        }
      }}
    >
      <p className="carries-address">{question}</p>
      <ActionButton className="danger carries-address" unavailable={busy} onPress={onConfirm}>
        {confirm}
      </ActionButton>
      <ActionButton ref={safe} unavailable={busy} onPress={onCancel}>
        {cancel}
      </ActionButton>
    </div>
  );
}
