import { useCallback, useEffect, useRef, useState } from "react";
import type { Api, Report, ReportGrouping, ReportQuery, ReportRow } from "../../api/client";
import { describeError } from "../../messages";
import { providerLabel } from "../../providers";
import type { ProviderName } from "../../api/client";
import { ActionButton } from "../ActionButton";
import { GROUPINGS, daysBetween, saveFile } from "./format";
import { TableRegion } from "./TableRegion";

type Counter = Exclude<keyof ReportRow, "group">;

const COUNTERS: [Counter, string][] = [
  ["creates", "Creates"],
  ["failed_creates", "Failed creates"],
  ["deletes", "Deletes"],
  ["rotations", "Rotations"],
  ["transfers", "Transfers"],
  ["suspensions", "Suspensions"],
  ["sends", "Sends"],
  ["deliveries", "Deliveries"],
  ["bounces", "Bounces"],
  ["complaints", "Complaints"],
];

/**
 * The report: per day, domain, provider or owner, what the audit trail
 * counts and what the providers reported, over a range of UTC days; by day,
 * bar charts of the creates and the sends.
 */
export function ActivityReport({ api, reloadSignal }: { api: Api; reloadSignal: number }) {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [groupBy, setGroupBy] = useState<ReportGrouping>("day");
  const [applied, setApplied] = useState<ReportQuery>({ groupBy: "day" });
  const [report, setReport] = useState<Report | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [done, setDone] = useState("");
  const latest = useRef(0);

  const load = useCallback(
    (query: ReportQuery) => {
      const serial = ++latest.current;
      api
        .report(query)
        .then((answered) => {
          if (serial !== latest.current) return;
          setReport(answered);
          setProblem(null);
          // The range the service chose (the last 30 days) fills the empty dates.
          setFrom((shown) => shown || answered.from);
          setTo((shown) => shown || answered.to);
        })
        .catch((error: unknown) => {
          if (serial === latest.current) setProblem(describeError(error, "admin"));
        });
    },
    [api],
  );

  useEffect(() => load(applied), [load, applied, reloadSignal]);

  function show(event: React.FormEvent) {
    event.preventDefault();
    if (from && to && from > to) {
      setProblem("The first day comes after the last: swap them.");
      return;
    }
    setDone("");
    setApplied({ from: from || undefined, to: to || undefined, groupBy });
  }

  async function download() {
    if (downloading) return;
    setDownloading(true);
    setDone("");
    try {
      saveFile(await api.reportCsv(applied), "report.csv");
      setDone("Saved report.csv, with the range and grouping of the table.");
      setProblem(null);
    } catch (error) {
      setProblem(describeError(error, "admin"));
    } finally {
      setDownloading(false);
    }
  }

  return (
    <section aria-labelledby="report-title" className="admin-section wide-section">
      <h2 id="report-title">Report</h2>
      <form className="filters" aria-label="Choose the report" onSubmit={show}>
        <div>
          <label htmlFor="report-from">From (UTC day)</label>
          <input id="report-from" type="date" value={from} onChange={(event) => setFrom(event.target.value)} />
        </div>
        <div>
          <label htmlFor="report-to">To (UTC day, included)</label>
          <input id="report-to" type="date" value={to} onChange={(event) => setTo(event.target.value)} />
        </div>
        <div>
          <label htmlFor="report-group">Group by</label>
          <select
            id="report-group"
            value={groupBy}
            onChange={(event) => setGroupBy(event.target.value as ReportGrouping)}
          >
            {(Object.keys(GROUPINGS) as ReportGrouping[]).map((grouping) => (
              <option key={grouping} value={grouping}>
                {GROUPINGS[grouping]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter-actions">
          <button type="submit">Show the report</button>
          <ActionButton unavailable={downloading} onPress={() => void download()}>
            {downloading ? "Downloading CSV…" : "Download the report as CSV"}
          </ActionButton>
        </div>
      </form>
      <p className="hint">At most 400 days; without dates, the last 30.</p>
      {problem && (
        <p role="alert" className="carries-address">
          {problem}
        </p>
      )}
      <p role="status" className="done">
        {done}
      </p>
      {report === null ? <p>Loading the report…</p> : <ReportTables report={report} />}
    </section>
  );
}

function ReportTables({ report }: { report: Report }) {
  const label = GROUPINGS[report.group_by];
  // A day or a provider reads badly broken; an owner or a domain may be long.
  const wholeGroups = report.group_by === "day" || report.group_by === "provider";
  const range = `from ${report.from} to ${report.to}, by ${label.toLowerCase()}`;
  const totals = Object.fromEntries(
    COUNTERS.map(([counter]) => [counter, report.rows.reduce((sum, row) => sum + row[counter], 0)]),
  ) as Record<Counter, number>;
  return (
    <>
      <p className="report-range">Activity {range}.</p>
      {report.group_by === "day" && <DayCharts report={report} />}
      {report.rows.length === 0 ? (
        <p>Nothing happened in these days.</p>
      ) : (
        <TableRegion label="Report table">
          <table className="report-table">
            <caption className="visually-hidden">Activity {range}</caption>
            <thead>
              <tr>
                <th scope="col">{label}</th>
                {COUNTERS.map(([counter, name]) => (
                  <th key={counter} scope="col" className="number">
                    {name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.rows.map((row) => (
                <tr key={row.group}>
                  <th scope="row" className={wholeGroups ? "whole" : "carries-address"}>
                    {groupName(report.group_by, row.group)}
                  </th>
                  {COUNTERS.map(([counter]) => (
                    <td key={counter} className="number">
                      {row[counter]}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
            {report.rows.length > 1 && (
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  {COUNTERS.map(([counter]) => (
                    <td key={counter} className="number">
                      {totals[counter]}
                    </td>
                  ))}
                </tr>
              </tfoot>
            )}
          </table>
        </TableRegion>
      )}
    </>
  );
}

function groupName(groupBy: ReportGrouping, group: string): string {
  // A provider by the name people know it (any the service adds later, as it is).
  return groupBy === "provider" ? (providerLabel(group as ProviderName) ?? group) : group;
}

/** Creates and sends per day, every day of the range (a day without a row had none). */
function DayCharts({ report }: { report: Report }) {
  const days = daysBetween(report.from, report.to);
  const byDay = new Map(report.rows.map((row) => [row.group, row]));
  const series = (counter: Counter) => days.map((day) => byDay.get(day)?.[counter] ?? 0);
  return (
    <div className="day-charts">
      <DayChart title="Creates per day" noun="creates" kind="creates" days={days} values={series("creates")} />
      <DayChart title="Sends per day" noun="sends" kind="sends" days={days} values={series("sends")} />
    </div>
  );
}

/** SVG units per day, and the chart's height in them. */
const STEP = 10;
const HEIGHT = 100;

/**
 * One bar per day, drawn in plain SVG (the stylesheet colours it): an image
 * whose name sums it up; the table below holds every figure.
 */
export function DayChart({
  title,
  noun,
  kind,
  days,
  values,
}: {
  title: string;
  noun: string;
  kind: string;
  days: string[];
  values: number[];
}) {
  const max = Math.max(0, ...values);
  const total = values.reduce((sum, value) => sum + value, 0);
  const first = days[0];
  const last = days[days.length - 1];
  const peak = days[values.indexOf(max)];
  const summary =
    total === 0
      ? `${title} from ${first} to ${last}: none.`
      : `${title} from ${first} to ${last}: ${total} in all, at most ${max} a day (${peak}).`;
  return (
    <figure className="day-chart">
      <figcaption>
        {title} <span className="hint">(the tallest bar: {max})</span>
      </figcaption>
      <svg
        className={`bars bars-${kind}`}
        viewBox={`0 0 ${Math.max(days.length, 1) * STEP} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={summary}
      >
        {values.map((value, index) =>
          value > 0 ? (
            <rect
              key={days[index]}
              x={index * STEP + 1}
              width={STEP - 2}
              y={HEIGHT - Math.max((value / max) * HEIGHT, 2)}
              height={Math.max((value / max) * HEIGHT, 2)}
            >
              <title>{`${days[index]}: ${value} ${noun}`}</title>
            </rect>
          ) : null,
        )}
        <line
          className="baseline"
          x1={0}
          x2={Math.max(days.length, 1) * STEP}
          y1={HEIGHT}
          y2={HEIGHT}
          vectorEffect="non-scaling-stroke"
        />
      </svg>
      <div className="chart-scale" aria-hidden="true">
        <span>{first}</span>
        <span>{last}</span>
      </div>
    </figure>
  );
}
