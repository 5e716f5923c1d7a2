/** Free alternatives to a taken or reserved address, each a one-click choice of its username. */
export function Suggestions({
  suggestions,
  onPick,
}: {
  suggestions: string[];
  onPick: (username: string) => void;
}) {
  if (suggestions.length === 0) return null;
  return (
    <ul aria-label="Free alternatives" className="suggestions">
      {suggestions.map((suggestion) => (
        <li key={suggestion}>
          <button type="button" className="carries-address" onClick={() => onPick(suggestion.split("@")[0])}>
            Use {suggestion}
          </button>
        </li>
      ))}
    </ul>
  );
}
