//! Unit tests of `main.rs`.

use super::*;
use clap::CommandFactory;

fn norm(args: &[&str]) -> Vec<String> {
    let v: Vec<OsString> = args.iter().map(OsString::from).collect();
    normalize_args(v, &Cli::command())
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect()
}

#[test]
fn finds_the_subcommand_before_parsing() {
    let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    assert_eq!(
        subcommand_name(&os(&["skiff", "--root", "run", "create", "x"])).as_deref(),
        Some("create")
    );
    assert_eq!(
        subcommand_name(&os(&["skiff", "--log-format=json", "-root", "/r", "run"])).as_deref(),
        Some("run")
    );
    assert_eq!(subcommand_name(&os(&["skiff", "--debug"])), None);
}

#[test]
fn single_dash_long_flags() {
    assert_eq!(
        norm(&[
            "skiff",
            "-root",
            "/r",
            "run",
            "-bundle",
            "b",
            "-no-subreaper",
            "id"
        ]),
        [
            "skiff",
            "--root",
            "/r",
            "run",
            "--bundle",
            "b",
            "--no-subreaper",
            "id"
        ]
    );
}

#[test]
fn container_args_untouched() {
    assert_eq!(
        norm(&["skiff", "kill", "-all", "id", "-9"]),
        ["skiff", "kill", "--all", "id", "-9"]
    );
    assert_eq!(
        norm(&["skiff", "run", "-b", "x", "id", "-bundle"]),
        ["skiff", "run", "-b", "x", "id", "-bundle"]
    );
}

#[test]
fn parses_caller_argv() {
    let cli = Cli::parse_from(norm(&[
        "skiff",
        "--root",
        "/r",
        "--log",
        "/l",
        "--log-format=json",
        "create",
        "--bundle",
        "/b",
        "--pid-file",
        "/p",
        "id1",
    ]));
    assert_eq!(cli.log_format, "json");
    assert!(matches!(cli.command, Some(Command::Create { .. })));
    let cli = Cli::parse_from(norm(&["skiff", "--log-format", "json", "kill", "id", "9"]));
    assert!(matches!(cli.command, Some(Command::Kill { signal: Some(ref s), .. }) if s == "9"));
}
