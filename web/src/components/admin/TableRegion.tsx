import type { ReactNode } from "react";

/**
 * A wide table that scrolls sideways inside its own frame, never the page:
 * the frame is a labelled region the keyboard can reach (to scroll it with
 * the arrow keys).
 */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
