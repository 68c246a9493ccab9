//! What the functions' command lines share: clap parsing with the usual exit statuses, and writing the
//! result. Exit status 0 for `--help` / `--version`, 2 for a usage error or output that cannot be written;
//! otherwise the command's own status.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Parses the arguments; on `--help`, `--version` or a usage error, clap's text is printed and the exit
/// status to return comes back as the error.
pub fn parse<C: clap::Parser>(args: impl IntoIterator<Item = OsString>) -> Result<C, ExitCode> {
    C::try_parse_from(args).map_err(|error| {
        let code = if error.use_stderr() { 2 } else { 0 };
        let _ = error.print();
        ExitCode::from(code)
    })
}

/// Writes a command's output and returns its status: `Ok((stdout text, status))` or
/// `Err((status, message))`, the message printed as `<name>: <message>` on stderr.
pub fn finish(name: &str, result: Result<(String, u8), (u8, String)>) -> ExitCode {
    match result {
        Ok((output, code)) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(output.as_bytes()).and_then(|()| stdout.flush()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::from(code)
        }
        Err((code, message)) => {
            let _ = writeln!(std::io::stderr(), "{name}: {message}");
            ExitCode::from(code)
        }
    }
}
