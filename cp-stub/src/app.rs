//! [`App`]: what every request shares — the configuration, the locked
//! state, the logger and the bound address. Requests enter at
//! `App::handle` (`dispatch.rs`).

use std::net::SocketAddr;

use crate::config::Config;
use crate::log::Logger;
use crate::respond::json_str_inner;
use crate::state::{Bounds, Shared};

/// Everything a connection task needs.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: Config,
    pub(crate) shared: Shared,
    pub(crate) logger: Logger,
    pub(crate) local_addr: SocketAddr,
    /// The instance prefix, escaped for a JSON string once.
    pub(crate) prefix_json: String,
    /// Turns true when shutdown begins: bodies still arriving are given up.
    pub(crate) stopping: tokio::sync::watch::Receiver<bool>,
}

impl App {
    pub(crate) fn new(
        config: Config,
        local_addr: SocketAddr,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        App {
            prefix_json: json_str_inner(&config.instance_prefix).into_owned(),
            stopping,
            shared: Shared::new(Bounds {
                capacity: config.journal_capacity,
                byte_budget: config.journal_bytes,
                orgs_cap: config.orgs_cap,
                replay_scopes: config.max_replay_scopes,
                workspace_scopes: config.max_workspace_scopes,
            }),
            logger: Logger::new(config.log_format, config.log_sink.clone()),
            local_addr,
            config,
        }
    }
}
