//! The `mailward` binary: parse arguments, run the command, map errors to one line and an
//! exit code. Everything else lives in the library.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    // reqwest and sqlx's TLS need a process-wide rustls provider before any client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match mailward::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) {
                e.exit();
            }
            // Usage errors in one line too, like every other error.
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("mailward: error: {first} (see --help)");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = std::env::var("MAILWARD_LOG").unwrap_or_else(|_| "warn,mailward=info".into());
    // Colours only on a terminal: journald and log files would keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_writer(std::io::stderr).with_ansi(ansi).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mailward: error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(mailward::cli::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // One line: the error and its causes, joined.
            let mut message = e.to_string();
            for cause in e.chain().skip(1) {
                message.push_str(": ");
                message.push_str(&cause.to_string());
            }
            eprintln!("mailward: error: {}", message.replace('\n', "; "));
            std::process::ExitCode::from(1)
        }
    }
}
