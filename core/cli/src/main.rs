//! `rumour`: run a node as an agent, and look at or change a running
//! cluster through an agent's HTTP API.
//!
//! Exit codes: 0 done; 1 the agent or the cluster refused (an HTTP error,
//! a key that is not there); 2 bad usage or a bad config file; 3 the agent
//! could not be reached.

mod agent;
mod client;
mod config;
mod json;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit code: the agent or the cluster refused.
const EXIT_REFUSED: u8 = 1;
/// Exit code: bad usage or a bad config file.
const EXIT_USAGE: u8 = 2;
/// Exit code: the agent could not be reached.
const EXIT_UNREACHABLE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "rumour",
    version,
    about = "Gossip membership (SWIM + Lifeguard, memberlist's wire protocol): run an agent, look at a cluster",
    after_help = "Examples:\n  rumour agent --config rumour.toml\n  rumour agent --name a --bind 0.0.0.0:7946 --seed 10.0.0.2:7946 --token-file /etc/rumour/token\n  rumour members\n  rumour put svc/web 10.0.0.5:8080\n  rumour watch --json\n  rumour keygen\n\nExit codes: 0 done, 1 refused by the agent or the cluster, 2 bad usage or config, 3 agent unreachable."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the agent is, for every subcommand that talks to one.
#[derive(Args, Clone)]
struct Target {
    /// The agent's HTTP API.
    #[arg(long, env = "RUMOUR_HTTP", default_value = agent::DEFAULT_HTTP)]
    http: String,
    /// A file holding the agent's bearer token (its first line).
    #[arg(long, env = "RUMOUR_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Print JSON, one value (or one event a line), for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node until SIGINT or SIGTERM, then leave the cluster gracefully.
    #[command(
        after_help = "Examples:\n  rumour agent --config rumour.toml\n  rumour agent --name a --bind 127.0.0.1:7946\n  rumour agent --config rumour.toml --seed 10.0.0.2:7946 --seed 10.0.0.3:7946\n\nThe file takes every field of the library's Config under its own name (durations in seconds,\nkeys in base64), `preset = \"lan\" | \"wan\" | \"local\"`, and an [agent] table: http, token, token_file.\nThe agent prints `agent NAME gossip ADDR http ADDR` once it listens."
    )]
    Agent {
        /// The TOML config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The node's name (overrides the file).
        #[arg(long)]
        name: Option<String>,
        /// Gossip address, host:port (overrides the file).
        #[arg(long)]
        bind: Option<String>,
        /// A seed, host:port; repeat for more (added to the file's).
        #[arg(long = "seed")]
        seeds: Vec<String>,
        /// The HTTP API's address (overrides [agent] http; default 127.0.0.1:7947).
        #[arg(long)]
        http: Option<String>,
        /// A file holding the bearer token (overrides [agent]).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// List the members the agent's node sees.
    #[command(after_help = "Examples:\n  rumour members\n  rumour members --json | jq -r '.[].name'")]
    Members(Target),
    /// Print events as they happen (joins, failures, messages, map changes) until interrupted.
    #[command(after_help = "Examples:\n  rumour watch\n  rumour watch --json | grep failed")]
    Watch(Target),
    /// Write a key of the replicated map.
    #[command(
        after_help = "Examples:\n  rumour put svc/web 10.0.0.5:8080\n  rumour put lock/a me --ttl 30\n  rumour put session/x 1 --ephemeral"
    )]
    Put {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
        /// The value (text).
        value: String,
        /// Seconds until the key expires.
        #[arg(long)]
        ttl: Option<f64>,
        /// Delete the key when this agent's node leaves or fails.
        #[arg(long)]
        ephemeral: bool,
    },
    /// Read a key of the replicated map (exit code 1 when it holds no value).
    #[command(after_help = "Examples:\n  rumour get svc/web")]
    Get {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
    },
    /// Delete a key of the replicated map.
    #[command(after_help = "Examples:\n  rumour del svc/web")]
    Del {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
    },
    /// List the keys of the replicated map that start with PREFIX.
    #[command(after_help = "Examples:\n  rumour ls svc/\n  rumour ls --json")]
    Ls {
        #[command(flatten)]
        target: Target,
        /// The prefix (all keys when left out).
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Send a message to every member (it arrives as a `message` event).
    #[command(after_help = "Examples:\n  rumour broadcast 'deploy 42 done'")]
    Broadcast {
        #[command(flatten)]
        target: Target,
        /// The message (text).
        message: String,
    },
    /// Print a new random 32-byte key, in the base64 the config and `keys` take.
    #[command(after_help = "Examples:\n  rumour keygen > key.b64")]
    Keygen,
    /// Manage the agent's encryption keys (install, use, remove, list).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Install a key beside the others (it decrypts; `use` makes it encrypt).
    #[command(after_help = "Examples:\n  rumour keys install \"$(rumour keygen)\"")]
    Install {
        #[command(flatten)]
        target: Target,
        /// The key, base64.
        key: String,
    },
    /// Make an installed key the one this node encrypts with.
    Use {
        #[command(flatten)]
        target: Target,
        /// The key, base64.
        key: String,
    },
    /// Remove an installed key (not the one in use).
    Remove {
        #[command(flatten)]
        target: Target,
        /// The key, base64.
        key: String,
    },
    /// List the installed keys, the one in use first.
    List(Target),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Agent { config, name, bind, seeds, http, token_file } => {
            run_agent(config, name, bind, seeds, http, token_file).map_err(|e| (EXIT_USAGE, e))
        }
        Command::Keygen => {
            let mut key = [0u8; 32];
            match getrandom::fill(&mut key) {
                Ok(()) => {
                    println!("{}", config::encode_key(&key));
                    Ok(())
                }
                Err(e) => Err((EXIT_REFUSED, format!("no randomness from the system: {e}"))),
            }
        }
        other => client::run(other),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("rumour: {message}");
            ExitCode::from(code)
        }
    }
}

fn run_agent(
    file: Option<PathBuf>,
    name: Option<String>,
    bind: Option<String>,
    seeds: Vec<String>,
    http: Option<String>,
    token_file: Option<PathBuf>,
) -> Result<(), String> {
    let file = match &file {
        Some(path) => config::read(path)?,
        None => config::FileConfig::default(),
    };
    let mut cfg = file.to_config()?;
    if let Some(n) = name {
        cfg.name = n;
    }
    if let Some(b) = bind {
        cfg.bind = b;
    }
    cfg.seeds.extend(seeds);
    let http = http.or(file.agent.http.clone()).unwrap_or_else(|| agent::DEFAULT_HTTP.to_string());
    let token = match (token_file.or(file.agent.token_file.clone()), &file.agent.token) {
        (Some(path), _) => Some(read_token(&path)?),
        (None, Some(t)) if !t.is_empty() => Some(t.clone()),
        (None, Some(_)) => return Err("agent.token is empty".into()),
        (None, None) => None,
    };
    agent::run(cfg, &http, token)
}

/// The first line of a token file.
fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(token)
}
