//! A user-defined Docker network (as compose creates one): containers on it
//! reach each other by name through Docker's DNS.

use crate::docker::{docker, report_leftover, unique_name, DockerError, LABEL};

/// A labelled bridge network, removed on drop. Drop it after the containers
/// on it (declare it first).
#[derive(Debug)]
pub struct Network {
    name: String,
}

impl Network {
    /// Create a network with a unique name.
    pub fn create() -> Result<Self, DockerError> {
        let name = unique_name("net");
        docker(&["network", "create", "--label", LABEL, &name])?;
        Ok(Self { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if let Err(e) = docker(&["network", "rm", &self.name]) {
            report_leftover(&e);
        }
    }
}
