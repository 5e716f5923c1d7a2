export type View = "mine" | "admin";

const NAMES: Record<View, string> = { mine: "My addresses", admin: "Administration" };

/** Between the caller's own addresses and the Administration view: shown to administrators only. */
export function ViewSwitch({ view, onChange }: { view: View; onChange: (view: View) => void }) {
  return (
    <nav aria-label="Views" className="views">
      {(Object.keys(NAMES) as View[]).map((name) => (
        <button key={name} type="button" aria-pressed={view === name} onClick={() => onChange(name)}>
          {NAMES[name]}
        </button>
      ))}
    </nav>
  );
}
