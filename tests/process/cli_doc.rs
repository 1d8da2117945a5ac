//! The synopsis in `docs/cli.md` is what `legendary -h` and every subcommand's `-h` say: the
//! block between the `cli-synopsis` markers is generated from the binary's help, and this
//! test fails when the two disagree (a flag added, renamed, removed, or given a new default).
//!
//! Regenerate the block after changing a flag:
//!
//! ```sh
//! LEGENDARY_UPDATE_DOCS=1 cargo test --test process cli_doc
//! ```

use std::collections::HashSet;
use std::process::Command;

use crate::support::repo;

const DOC: &str = "docs/cli.md";
const BEGIN: &str = "<!-- cli-synopsis: begin -->";
const END: &str = "<!-- cli-synopsis: end -->";
/// Where the synopsis wraps its lines.
const WIDTH: usize = 100;

/// One `-h` screen, parsed.
#[derive(Debug, Default)]
struct Help {
    /// The `Usage:` line without `Usage: `.
    usage: String,
    /// Subcommands, `help` left out.
    commands: Vec<String>,
    /// Positional arguments as clap writes them: `[TEXT]`, `<NAME>`.
    arguments: Vec<String>,
    options: Vec<Opt>,
}

/// One option of the `Options:` section.
#[derive(Debug, Clone, PartialEq)]
struct Opt {
    short: Option<char>,
    long: String,
    /// clap's value name (`MODEL_URI`); `None` for a flag.
    value: Option<String>,
    default: Option<String>,
    possible: Vec<String>,
}

fn help(path: &[&str]) -> Help {
    let output = Command::new(env!("CARGO_BIN_EXE_legendary"))
        .args(path)
        .arg("-h")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "legendary {path:?} -h failed: {text}"
    );
    parse(&text)
}

fn parse(text: &str) -> Help {
    let mut help = Help::default();
    let mut section = "";
    // An option's help text, its own line and any continuation lines.
    let mut pending: Option<(Opt, String)> = None;
    let flush = |pending: &mut Option<(Opt, String)>, help: &mut Help| {
        if let Some((mut opt, text)) = pending.take() {
            opt.default = bracket(&text, "default").map(str::to_owned);
            opt.possible = bracket(&text, "possible values")
                .map(|v| v.split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            help.options.push(opt);
        }
    };
    for line in text.lines() {
        if let Some(usage) = line.strip_prefix("Usage: ") {
            help.usage = usage.trim().to_owned();
            continue;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            flush(&mut pending, &mut help);
            section = line.trim_end_matches(':');
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        match section {
            "Commands" => {
                let name = trimmed.split_whitespace().next().unwrap_or_default();
                if name != "help" {
                    help.commands.push(name.to_owned());
                }
            }
            // An argument's own line (its help text, when wrapped, is indented further).
            "Arguments" if !line.starts_with("   ") => {
                help.arguments
                    .push(trimmed.split_whitespace().next().unwrap().to_owned());
            }
            "Options" => {
                if trimmed.starts_with('-') && line.len() - trimmed.len() <= 6 {
                    flush(&mut pending, &mut help);
                    pending = Some(option(trimmed));
                } else if let Some((_, text)) = pending.as_mut() {
                    text.push(' ');
                    text.push_str(trimmed);
                }
            }
            _ => {}
        }
    }
    flush(&mut pending, &mut help);
    help
}

/// `-m, --model-uri <MODEL_URI>  The model…` -> the option and the start of its help.
fn option(line: &str) -> (Opt, String) {
    let (spec, text) = line.split_once("  ").unwrap_or((line, ""));
    let mut short = None;
    let mut rest = spec.trim();
    if let Some(after) = rest.strip_prefix('-')
        && !after.starts_with('-')
    {
        short = after.chars().next();
        rest = after[1..].trim_start_matches(',').trim();
    }
    let (long, value) = match rest.split_once(' ') {
        Some((long, value)) => (
            long,
            Some(value.trim_matches(|c| c == '<' || c == '>').to_owned()),
        ),
        None => (rest, None),
    };
    let opt = Opt {
        short,
        long: long.trim_start_matches("--").to_owned(),
        value,
        default: None,
        possible: Vec::new(),
    };
    (opt, text.trim().to_owned())
}

/// `x` in `[label: x]`.
fn bracket<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let start = text.find(&format!("[{label}: "))? + label.len() + 3;
    let end = text[start..].find(']')? + start;
    Some(&text[start..end])
}

/// `[--host 127.0.0.1]`, `[--log-format text|json]`, `[-m|--model-uri <MODEL_URI>]`,
/// `[--promote]`, or `--grid <GRID>` without brackets when the usage line requires it.
fn word(opt: &Opt, usage: &str) -> String {
    let name = match opt.short {
        Some(c) => format!("-{c}|--{}", opt.long),
        None => format!("--{}", opt.long),
    };
    let Some(value) = &opt.value else {
        return format!("[{name}]");
    };
    let shown = if !opt.possible.is_empty() {
        let mut values = opt.possible.clone();
        if let Some(default) = &opt.default
            && let Some(at) = values.iter().position(|v| v == default)
        {
            let first = values.remove(at);
            values.insert(0, first);
        }
        values.join("|")
    } else if let Some(default) = &opt.default {
        default.clone()
    } else {
        format!("<{value}>")
    };
    let required = format!("--{} <{value}>", opt.long);
    if usage.contains(&required) {
        format!("{name} {shown}")
    } else {
        format!("[{name} {shown}]")
    }
}

/// The synopsis: one entry per command, its own options only (an option of `legendary` or of
/// `legendary data` is listed there, not again under every subcommand), `-h` left out.
fn synopsis() -> String {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut inherited: Vec<(Vec<String>, HashSet<String>)> = Vec::new();
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let help = help(&args);
        let parent_seen = inherited
            .iter()
            .filter(|(p, _)| path.starts_with(p) && p.len() < path.len())
            .flat_map(|(_, seen)| seen.iter().cloned())
            .collect::<HashSet<_>>();
        let mut words = Vec::new();
        let mut seen = HashSet::new();
        for opt in &help.options {
            if matches!(opt.long.as_str(), "help" | "version") || parent_seen.contains(&opt.long) {
                continue;
            }
            seen.insert(opt.long.clone());
            words.push(word(opt, &help.usage));
        }
        words.extend(help.arguments.iter().cloned());
        if !help.commands.is_empty() {
            words.push("<COMMAND>".to_owned());
        }
        inherited.push((path.clone(), seen));
        entries.push((
            std::iter::once("legendary")
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            words,
        ));
        // Reversed onto the stack, so that subcommands come out in the help's order.
        for command in help.commands.iter().rev() {
            let mut sub = path.clone();
            sub.push(command.clone());
            queue.push(sub);
        }
    }
    let indent = entries
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0)
        + 1;
    let mut out = String::new();
    for (name, words) in entries {
        let mut line = format!("{name:indent$}");
        let mut first = true;
        for word in words {
            if !first && line.len() + 1 + word.len() > WIDTH {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(indent);
                first = true;
            }
            if !first {
                line.push(' ');
            }
            line.push_str(&word);
            first = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn the_documented_synopsis_is_what_the_help_of_every_subcommand_says() {
    let path = repo().join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{DOC} has no `{BEGIN}` marker"));
    let end = doc
        .find(END)
        .unwrap_or_else(|| panic!("{DOC} has no `{END}` marker"));
    let documented = &doc[start + BEGIN.len()..end];
    let generated = format!("\n```\n{}```\n", synopsis());
    if documented == generated {
        return;
    }
    if std::env::var_os("LEGENDARY_UPDATE_DOCS").is_some() {
        let updated = format!("{}{generated}{}", &doc[..start + BEGIN.len()], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let documented_lines: HashSet<&str> = documented.lines().collect();
    let generated_lines: HashSet<&str> = generated.lines().collect();
    let mut diff = String::new();
    for line in documented.lines().filter(|l| !generated_lines.contains(l)) {
        diff.push_str(&format!("- {line}\n"));
    }
    for line in generated.lines().filter(|l| !documented_lines.contains(l)) {
        diff.push_str(&format!("+ {line}\n"));
    }
    panic!(
        "{DOC}'s synopsis differs from `legendary -h` and its subcommands' (- documented, \
         + from --help):\n{diff}\nRegenerate it: \
         LEGENDARY_UPDATE_DOCS=1 cargo test --test process cli_doc"
    );
}

#[test]
fn the_help_parser_reads_both_layouts_clap_uses() {
    let compact = "About\n\nUsage: legendary data show [OPTIONS] <NAME>\n\nArguments:\n  \
                   <NAME>  Its name\n\nOptions:\n      --format <FORMAT>  Output format \
                   [default: table] [possible values: table, json]\n  -h, --help  Print help\n";
    let help = parse(compact);
    assert_eq!(help.arguments, ["<NAME>"]);
    assert_eq!(help.options[0].default.as_deref(), Some("table"));
    assert_eq!(help.options[0].possible, ["table", "json"]);
    assert_eq!(word(&help.options[0], &help.usage), "[--format table|json]");
    let long = "Usage: legendary sweep [OPTIONS] --grid <GRID>\n\nOptions:\n      --grid <GRID>\n          \
                The grid [env: LEGENDARY_GRID=]\n  -m, --model-uri <MODEL_URI>\n          The model, \
                one\n          more line [default: x]\n      --promote\n          Gate\n";
    let help = parse(long);
    let words: Vec<String> = help.options.iter().map(|o| word(o, &help.usage)).collect();
    assert_eq!(
        words,
        ["--grid <GRID>", "[-m|--model-uri x]", "[--promote]"]
    );
}
