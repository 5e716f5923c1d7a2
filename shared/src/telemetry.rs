use tracing_subscriber::EnvFilter;

/// Log lines on stdout for CloudWatch: JSON when Lambda asks for it
/// (`AWS_LAMBDA_LOG_FORMAT=JSON`), plain text otherwise; the level from
/// `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then `info`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let filter =
        EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.init();
    }
}

/// The function this process serves: Lambda's name for it, else the
/// binary's. Read once: it is on every request's log line.
pub fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .or_else(|| {
                std::env::args()
                    .next()
                    .and_then(|path| path.rsplit('/').next().map(str::to_string))
            })
            .unwrap_or_else(|| "unknown".into())
    })
}

static COLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// The start of an invocation: whether it is this process's first (a cold
/// start, counted as the `ColdStarts` metric of its function).
pub fn invocation_started() -> bool {
    let cold = COLD.swap(false, std::sync::atomic::Ordering::Relaxed);
    if cold {
        emit_metrics(
            chrono::Utc::now(),
            &[("Function", function_name())],
            &[("ColdStarts", 1.0)],
        );
    }
    cold
}

/// The CloudWatch namespace of this service's metrics.
pub const METRICS_NAMESPACE: &str = "EmailProvisioning";

/// A CloudWatch Embedded Metric Format record: values under `dimensions`,
/// which CloudWatch turns into metrics of `METRICS_NAMESPACE` when it reads
/// the line from the function's log. A metric named `…Percent` is in
/// percent, any other a count.
pub fn metrics_record(
    at: chrono::DateTime<chrono::Utc>,
    dimensions: &[(&str, &str)],
    counts: &[(&str, f64)],
) -> serde_json::Value {
    let mut record = serde_json::json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": counts
                    .iter()
                    .map(|(name, _)| {
                        let unit = if name.ends_with("Percent") { "Percent" } else { "Count" };
                        serde_json::json!({ "Name": name, "Unit": unit })
                    })
                    .collect::<Vec<_>>(),
            }],
        },
    });
    for (name, value) in dimensions {
        record[*name] = serde_json::json!(value);
    }
    for (name, count) in counts {
        record[*name] = serde_json::json!(count);
    }
    record
}

/// Records emitted while a capture is on, for tests to read back.
static CAPTURED: std::sync::Mutex<Option<Vec<serde_json::Value>>> = std::sync::Mutex::new(None);

/// Writes an EMF record as one line of its own on stdout, beside the logs.
pub fn emit_metrics(
    at: chrono::DateTime<chrono::Utc>,
    dimensions: &[(&str, &str)],
    counts: &[(&str, f64)],
) {
    let record = metrics_record(at, dimensions, counts);
    println!("{record}");
    if let Some(captured) = CAPTURED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_mut()
    {
        captured.push(record);
    }
}

/// From now on, every record emitted in this process is also kept; returns
/// (and keeps capturing) what was kept since the last call.
pub fn captured_metrics() -> Vec<serde_json::Value> {
    let mut captured = CAPTURED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    captured.replace(Vec::new()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_emf_record_names_its_dimensions_and_metrics() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let record = metrics_record(
            at,
            &[("Provider", "sendgrid")],
            &[("Sends", 3.0), ("QuotaUsedPercent", 12.5)],
        );
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(record["_aws"]["Timestamp"], 1_795_597_200_000_i64);
        assert_eq!(directive["Namespace"], "EmailProvisioning");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Provider"]]));
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([
                { "Name": "Sends", "Unit": "Count" },
                { "Name": "QuotaUsedPercent", "Unit": "Percent" }
            ])
        );
        assert_eq!(record["Provider"], "sendgrid");
        assert_eq!(
            (
                record["Sends"].as_f64(),
                record["QuotaUsedPercent"].as_f64()
            ),
            (Some(3.0), Some(12.5))
        );
    }
}
