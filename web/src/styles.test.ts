import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// Read from disk: Vitest hands CSS imports (`?raw` among them) over empty.
const css = readFileSync(path.join(path.dirname(import.meta.filename), "styles.css"), "utf8");

/** The declarations of the rule whose selector list is exactly `selector` (the first, outside or inside a media query). */
function rule(selector: string, within = css): string {
  const escaped = selector.replace(/[.*+?^${}()|[\]\\>]/g, "\\$&").replace(/,\s*/g, ",\\s*");
  const match = new RegExp(`(?:^|[}\\s])${escaped}\\s*\\{([^}]*)\\}`).exec(within);
  expect(match, `styles.css has a rule for ${selector}`).not.toBeNull();
  return match![1];
}

// jsdom lays nothing out: these hold the rules that keep a long address from widening the page at 375 px.
describe("styles.css", () => {
  it("lets every text that carries an address break anywhere", () => {
    expect(rule(".carries-address")).toMatch(/overflow-wrap:\s*anywhere;/);
  });

  it("lets the layout's grid and flex children shrink below their longest word", () => {
    const shrinking = rule(
      ".top > *,\n.panel > *,\n.accounts > li,\n.facts > div,\n.confirmation > p,\n.admin > *,\n.filters > *,\n.offboard-report > li,\n.day-charts > *",
    );
    expect(shrinking).toMatch(/min-width:\s*0;/);
  });

  it("sizes the panel's columns and the list from zero up, in one column and in two", () => {
    expect(rule(".panel")).toMatch(/grid-template-columns:\s*minmax\(0, 1fr\);/);
    const wide = css.slice(css.indexOf("@media (min-width: 960px)"));
    expect(rule(".panel", wide)).toMatch(/grid-template-columns:\s*minmax\(340px, 420px\) minmax\(0, 1fr\);/);
    expect(rule(".accounts")).toMatch(/grid-template-columns:\s*minmax\(0, 1fr\);/);
  });

  it("keeps the Administration view's columns and tables within the page: a wide table scrolls in its own frame", () => {
    expect(rule(".admin")).toMatch(/grid-template-columns:\s*minmax\(0, 1fr\);/);
    const wide = css.slice(css.indexOf("@media (min-width: 960px)", css.indexOf(".admin {")));
    expect(rule(".admin", wide)).toMatch(/grid-template-columns:\s*minmax\(0, 1fr\) minmax\(300px, 380px\);/);
    expect(rule(".table-scroll")).toMatch(/overflow-x:\s*auto;/);
    expect(rule(".table-scroll")).toMatch(/max-width:\s*100%;/);
  });

  it("hides a view not on show, whatever display its own rule gives it", () => {
    expect(rule("[hidden]")).toMatch(/display:\s*none !important;/);
  });
});
