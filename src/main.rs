//! The skiff command line: runc's global flags and subcommands, mapped onto the library.

use clap::{ArgAction, Parser, Subcommand};
use skiff::container::{self, CreateOptions, ListFormat, RunOptions};
use skiff::logging::{self, Format};
use skiff::state::Root;
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "skiff",
    about = "A low-level OCI container runtime (runc-compatible)",
    disable_version_flag = true
)]
struct Cli {
    /// Root directory for container state (default /run/skiff; $XDG_RUNTIME_DIR/skiff for non-root)
    #[arg(long)]
    root: Option<PathBuf>,
    /// Log file (appended to)
    #[arg(long)]
    log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Debug logging
    #[arg(long)]
    debug: bool,
    /// Use the systemd cgroup driver (remembered in the state; not supported yet)
    #[arg(long = "systemd-cgroup")]
    systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (accepted for compatibility)
    #[arg(long, value_parser = ["true", "false", "auto"])]
    rootless: Option<String>,
    /// Print the version
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Debug, Clone)]
struct CreateArgs {
    /// Path to the bundle (directory with config.json)
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket to send the pty master to (process.terminal)
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// File to write the container process's pid to
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (for a rootfs on ramfs)
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N more fds (from 3 up, after $LISTEN_FDS) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a container (stopped at the created→running barrier)
    Create {
        #[command(flatten)]
        args: CreateArgs,
        id: String,
    },
    /// Start a created container
    Start { id: String },
    /// Print a container's state as JSON
    State { id: String },
    /// Send a signal (default SIGTERM) to a container's init, or all its processes
    Kill {
        /// Signal every process of the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a stopped container (--force: stop it first)
    Delete {
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// Create and start a container; in the foreground, wait and exit with its status
    Run {
        #[command(flatten)]
        args: CreateArgs,
        /// Return after start instead of waiting
        #[arg(short = 'd', long)]
        detach: bool,
        /// Keep the container's state after it exits
        #[arg(long)]
        keep: bool,
        /// Accepted for runc compatibility (skiff waits for its own child)
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
        /// Container id; a path containing '/' is taken as the bundle
        id: Option<String>,
    },
    /// List containers
    List {
        #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Write a default config.json
    Spec {
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// A config for rootless containers
        #[arg(long)]
        rootless: bool,
    },
}

impl CreateArgs {
    fn options(&self, id: String, systemd_cgroup: bool) -> CreateOptions {
        CreateOptions {
            id,
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            systemd_cgroup,
        }
    }
}

/// runc's flag parser takes long flags with one dash (`-bundle`, `-no-subreaper`) and
/// callers send them: rewrite them to `--` before clap sees them. Only names clap
/// knows as long flags, and only before the first positional argument of the
/// subcommand (what follows belongs to the container).
fn normalize_args(args: Vec<OsString>, cmd: &clap::Command) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut scope = cmd.clone();
    let mut in_sub = false;
    let mut expect_value = false;
    let mut done = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || done {
            out.push(arg);
            continue;
        }
        if expect_value {
            expect_value = false;
            out.push(arg);
            continue;
        }
        let Some(s) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            done = true;
            out.push(arg);
            continue;
        }
        let long_flag = |scope: &clap::Command, name: &str| {
            scope
                .get_arguments()
                .chain(cmd.get_arguments().filter(|a| a.is_global_set()))
                .find(|a| a.get_long() == Some(name))
                .map(|a| a.get_action().takes_values())
        };
        let rewritten = if s.starts_with("--") {
            let name = s.trim_start_matches("--").split('=').next().unwrap_or("");
            expect_value = !s.contains('=') && long_flag(&scope, name) == Some(true);
            s
        } else if s.starts_with('-') && s.len() > 2 {
            let name = s[1..].split('=').next().unwrap_or("");
            match long_flag(&scope, name) {
                Some(takes) => {
                    expect_value = takes && !s.contains('=');
                    format!("-{s}")
                }
                None => s,
            }
        } else if s.starts_with('-') {
            let short = s.chars().nth(1);
            expect_value = scope
                .get_arguments()
                .find(|a| a.get_short() == short)
                .is_some_and(|a| a.get_action().takes_values());
            s
        } else if !in_sub {
            if let Some(sub) = cmd.find_subcommand(&s) {
                scope = sub.clone();
                in_sub = true;
            }
            s
        } else {
            done = true;
            s
        };
        out.push(OsString::from(rewritten));
    }
    out
}

/// The subcommand word: the first argument that is not a global flag or its value.
fn subcommand_name(args: &[OsString]) -> Option<String> {
    const WITH_VALUE: [&str; 4] = ["root", "log", "log-format", "rootless"];
    let mut iter = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(flag) if WITH_VALUE.contains(&flag) => {
                iter.next();
            }
            Some(_) => {}
            None => return Some(arg.to_string()),
        }
    }
    None
}

fn main() {
    use clap::CommandFactory;
    let raw: Vec<OsString> = std::env::args_os().collect();
    // Commands that start container processes run from a sealed view of the binary
    // (CVE-2019-5736; see process/sealed.rs). Decided before parsing the command line:
    // the re-executed process parses it anyway.
    if matches!(
        subcommand_name(&raw).as_deref(),
        Some("create") | Some("run")
    ) {
        if let Err(e) = skiff::process::sealed::ensure_sealed() {
            eprintln!("skiff: re-executing from a sealed view of the binary: {e}");
            std::process::exit(1);
        }
    }
    let cmd = Cli::command();
    let args = normalize_args(raw, &cmd);
    let cli = Cli::parse_from(args);
    if cli.version {
        println!(
            "skiff version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            skiff::OCI_VERSION
        );
        return;
    }
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        std::process::exit(1);
    };
    let format = if cli.log_format == "json" {
        Format::Json
    } else {
        Format::Text
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!("skiff: {e}");
        std::process::exit(1);
    }
    let root = Root::new(cli.root.clone().unwrap_or_else(Root::default_path));
    match dispatch(&root, command, cli.systemd_cgroup) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            logging::report_error(&e.to_string());
            std::process::exit(1);
        }
    }
}

fn dispatch(root: &Root, command: Command, systemd_cgroup: bool) -> Result<i32, skiff::Error> {
    match command {
        Command::Create { args, id } => {
            container::create(root, &args.options(id, systemd_cgroup)).map(|()| 0)
        }
        Command::Start { id } => container::start(root, &id).map(|()| 0),
        Command::State { id } => {
            println!("{}", container::state(root, &id)?);
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            container::kill(root, &id, signal.as_deref().unwrap_or("SIGTERM"), all).map(|()| 0)
        }
        Command::Delete { force, id } => container::delete(root, &id, force).map(|()| 0),
        Command::Run {
            mut args,
            detach,
            keep,
            no_subreaper: _,
            id,
        } => {
            let id = match id {
                // `skiff run ./mybundle`: the bundle, and the id from its directory name.
                Some(arg) if arg.contains('/') => {
                    let path = PathBuf::from(&arg);
                    let abs = std::path::absolute(&path).unwrap_or(path.clone());
                    let name = abs
                        .components()
                        .next_back()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .unwrap_or_default();
                    args.bundle = path;
                    name
                }
                Some(id) => id,
                None => {
                    return Err(skiff::Error::Msg(
                        "run: missing container id (or a bundle path containing '/')".into(),
                    ))
                }
            };
            container::run(
                root,
                &RunOptions {
                    create: args.options(id, systemd_cgroup),
                    detach,
                    keep,
                },
            )
        }
        Command::List { format, quiet } => {
            let format = if format == "json" {
                ListFormat::Json
            } else {
                ListFormat::Table
            };
            container::list(root, format, quiet, &mut std::io::stdout().lock()).map(|()| 0)
        }
        Command::Spec { bundle, rootless } => write_spec(&bundle, rootless).map(|()| 0),
    }
}

fn write_spec(bundle: &std::path::Path, rootless: bool) -> Result<(), skiff::Error> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(skiff::Error::Msg(format!(
            "{} exists: remove it first",
            path.display()
        )));
    }
    // SAFETY: geteuid/getegid cannot fail.
    let ids = rootless.then(|| unsafe { (libc::geteuid(), libc::getegid()) });
    let text = serde_json::to_string_pretty(&skiff::spec::default_spec(ids)).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| skiff::Error::Sys {
        what: format!("write {}", path.display()),
        source: e,
    })
}

#[cfg(test)]
#[path = "tests/main.rs"]
mod tests;
