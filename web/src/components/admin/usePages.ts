import { useCallback, useEffect, useRef, useState } from "react";
import { describeError } from "../../messages";

/** One page of a listing: its items, and the cursor of the next one. */
export interface ItemsPage<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * A listing an administrator pages through: the first page for `filter`
 * (read again when `filter` or `reloadSignal` changes), "more" by cursor,
 * and what went wrong as a sentence. An answer that arrives after a newer
 * request started is dropped.
 */
export function usePages<F, T>(
  fetchPage: (filter: F, after?: string) => Promise<ItemsPage<T>>,
  filter: F,
  reloadSignal: number,
) {
  const [items, setItems] = useState<T[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | null>(null);
  const latest = useRef(0);

  const load = useCallback(
    (after?: string) => {
      const serial = ++latest.current;
      fetchPage(filter, after)
        .then((page) => {
          if (serial !== latest.current) return;
          setItems((shown) => (after && shown ? [...shown, ...page.items] : page.items));
          setNextCursor(page.next_cursor ?? undefined);
          setProblem(null);
        })
        .catch((error: unknown) => {
          if (serial === latest.current) setProblem(describeError(error, "admin"));
        });
    },
    [fetchPage, filter],
  );

  useEffect(() => load(), [load, reloadSignal]);

  return {
    items,
    problem,
    setProblem,
    /** The first page again (after a change in the listing). */
    reload: () => load(),
    /** The next page, after those shown; undefined when there is none. */
    more: nextCursor ? () => load(nextCursor) : undefined,
  };
}
