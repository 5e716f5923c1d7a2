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
