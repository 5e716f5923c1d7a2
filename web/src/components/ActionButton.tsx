import type { ButtonHTMLAttributes } from "react";

/**
 * A button that can be unavailable without losing the focus: it says so
 * (`aria-disabled`, where `disabled` would drop the focus to the page) and
 * ignores presses while it is.
 */
export function ActionButton({
  unavailable,
  onPress,
  ...button
}: Omit<ButtonHTMLAttributes<HTMLButtonElement>, "onClick" | "type" | "aria-disabled"> & {
  unavailable: boolean;
  onPress: () => void;
  ref?: React.Ref<HTMLButtonElement>;
}) {
  return (
    <button
      {...button}
      type="button"
      aria-disabled={unavailable}
      onClick={() => {
        if (!unavailable) onPress();
      }}
    />
  );
}
