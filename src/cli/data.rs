//! `legendary data search|show`: the data catalogue's flags, turned into a [`DataJob`].

use clap::{Args, Subcommand, ValueEnum};

use crate::config::{DataAction, DataJob, Env};
use crate::dataset::catalogue::Query;

/// Flags of `legendary data`.
#[derive(Debug, Args)]
pub(crate) struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DataCommand,
    /// The data package: a directory, an object-store prefix (`s3://bucket/pokemon/`) or the
    /// URL of its `datapackage.json`.
    #[arg(
        long,
        global = true,
        env = "LEGENDARY_DATA",
        default_value = "data/pokemon"
    )]
    pub data: String,
    /// Output format.
    #[arg(long, global = true, default_value = "table")]
    pub format: Format,
}

/// `table` for people, `json` for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns (a card for `show`).
    Table,
    /// A JSON array (an object for `show`).
    Json,
}

/// The catalogue's subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// List the data sets that match: text in the name, title, owner or format, a
    /// generation, an owner.
    Search {
        /// Text to look for (case-insensitive); everything when absent.
        text: Option<String>,
        /// Only this generation (1-9).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=9))]
        generation: Option<u8>,
        /// Only this owner (case-insensitive).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show one data set: name, title, location, owner, size, rows, legendary rows,
    /// generation, creation date and digest.
    Show {
        /// Its name, e.g. `pokemon-generation-7`.
        name: String,
    },
}

impl DataArgs {
    /// The catalogue job these flags describe.
    ///
    /// # Errors
    /// A bad object-store variable.
    pub(crate) fn into_job(self, env: &Env) -> anyhow::Result<DataJob> {
        let action = match self.action {
            DataCommand::Search {
                text,
                generation,
                owner,
            } => DataAction::Search(Query {
                text,
                generation,
                owner,
            }),
            DataCommand::Show { name } => DataAction::Show(name),
        };
        Ok(DataJob {
            data: self.data,
            action,
            json: self.format == Format::Json,
            stores: env.stores()?,
        })
    }
}
