//! Compose shards side by side: `gate --stack compose --shard K/N` runs on
//! a host that may run the other shards at the same time, so each shard's
//! stack gets its own compose project and its own published ports.
//!
//! - **project**: the default project suffixed `-shard-K-of-N`
//!   (`cp-harness-gate-<pid>-shard-2-of-3`; `cp-harness-shard-2-of-3` with
//!   `--keep-up`); a `--project` / `COMPOSE_PROJECT_NAME` is used as given;
//! - **ports**: compose.yml's defaults moved up by [`SHARD_PORT_STEP`] × K
//!   (shard 1: stub 9100, alpha 8091, beta 8092; shard 2: 9110, 8101, 8102),
//!   so no two shards, and no shard and a plain `docker compose up` (9090,
//!   8081, 8082), publish the same port; a port given explicitly
//!   (`--stub-port`, `CP_STUB_PORT`, …) is used as given.

use replay_runner::Shard;

use super::compose::ComposeOptions;

/// How far apart the published ports of consecutive shards are. Any
/// multiple of 10 keeps the three services of all shards apart: the
/// defaults differ by 1 (alpha, beta) and by 1009 (stub, alpha), and
/// neither is a multiple of 10.
pub const SHARD_PORT_STEP: u16 = 10;

/// The host ports compose publishes (compose.yml's `CP_STUB_PORT`,
/// `ALPHA_PORT`, `BETA_PORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedPorts {
    /// cp-stub.
    pub stub: u16,
    /// Tenant alpha.
    pub alpha: u16,
    /// Tenant beta.
    pub beta: u16,
}

/// compose.yml's defaults.
pub const DEFAULT_PORTS: PublishedPorts = PublishedPorts {
    stub: contract::defaults::STUB_PORT,
    alpha: 8081,
    beta: 8082,
};

/// Why a shard has no ports of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeShardError {
    /// K × step pushes a default port past 65535.
    #[error("shard {0}: its published ports would pass 65535 (each default + {SHARD_PORT_STEP} × K): pass --stub-port, --alpha-port and --beta-port")]
    PortsOverflow(Shard),
}

impl PublishedPorts {
    /// The defaults of shard `shard` (unmoved without one).
    pub fn for_shard(shard: Option<Shard>) -> Result<PublishedPorts, ComposeShardError> {
        let Some(s) = shard else {
            return Ok(DEFAULT_PORTS);
        };
        let offset = u16::try_from(s.index())
            .ok()
            .and_then(|k| k.checked_mul(SHARD_PORT_STEP))
            .ok_or(ComposeShardError::PortsOverflow(s))?;
        let moved = |p: u16| {
            p.checked_add(offset)
                .ok_or(ComposeShardError::PortsOverflow(s))
        };
        Ok(PublishedPorts {
            stub: moved(DEFAULT_PORTS.stub)?,
            alpha: moved(DEFAULT_PORTS.alpha)?,
            beta: moved(DEFAULT_PORTS.beta)?,
        })
    }
}

/// The default project of shard `shard`: [`ComposeOptions::default_project`]
/// suffixed `-shard-K-of-N`.
pub fn shard_project(keep_up: bool, shard: Option<Shard>) -> String {
    let base = ComposeOptions::default_project(keep_up);
    match shard {
        Some(s) => format!("{base}-{}", s.slug()),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(k: u32, n: u32) -> Option<Shard> {
        Some(Shard::new(k, n).unwrap())
    }

    #[test]
    fn shards_of_one_host_share_no_project_and_no_port() {
        assert_eq!(PublishedPorts::for_shard(None), Ok(DEFAULT_PORTS));
        assert_eq!(
            PublishedPorts::for_shard(shard(2, 3)),
            Ok(PublishedPorts {
                stub: 9110,
                alpha: 8101,
                beta: 8102
            })
        );
        for n in [2, 3, 8, 64] {
            let mut ports = vec![DEFAULT_PORTS.stub, DEFAULT_PORTS.alpha, DEFAULT_PORTS.beta];
            let mut projects = vec![shard_project(false, None)];
            for k in 1..=n {
                let p = PublishedPorts::for_shard(shard(k, n)).unwrap();
                ports.extend([p.stub, p.alpha, p.beta]);
                projects.push(shard_project(false, shard(k, n)));
            }
            let before = ports.len();
            ports.sort_unstable();
            ports.dedup();
            assert_eq!(ports.len(), before, "a port shared among {n} shards");
            let before = projects.len();
            projects.sort();
            projects.dedup();
            assert_eq!(projects.len(), before, "a project shared among {n} shards");
        }
        let p = shard_project(false, shard(2, 3));
        assert!(
            p.starts_with("cp-harness-gate-") && p.ends_with("-shard-2-of-3"),
            "{p}"
        );
        assert_eq!(shard_project(true, shard(1, 2)), "cp-harness-shard-1-of-2");
    }

    #[test]
    fn a_shard_past_the_port_range_is_named() {
        let e = PublishedPorts::for_shard(shard(7000, 7000)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard 7000/7000: its published ports would pass 65535 (each default + 10 × K): pass --stub-port, --alpha-port and --beta-port"
        );
        assert!(PublishedPorts::for_shard(shard(5644, 7000)).is_ok());
        assert!(PublishedPorts::for_shard(shard(5645, 7000)).is_err());
    }
}
