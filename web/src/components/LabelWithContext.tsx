/**
 * A short visible label whose accessible name goes on (`Delete` +
 * `contact@example.com`), so a screen reader hears which address a button acts on.
 */
export function LabelWithContext({ visible, context }: { visible: string; context: string }) {
  return (
    <>
      {`${visible} `}
      <span className="visually-hidden">{context}</span>
    </>
  );
}
