//! Helpers shared by the workspace's integration tests (a dev-dependency
//! only, never published). Everything talks over real 127.0.0.1 sockets on
//! ephemeral ports: the real cp-stub and tenant-double libraries, or a
//! scriptable fake when a test needs answers the real servers never give.
//!
//! Tests import the cross-cutting helpers from the crate root and the
//! helpers of one server from its module:
//!
//! ```
//! # #![allow(unused_imports)]
//! use test_support::stub::*; // cp-stub: start, provision, state, faults
//! use test_support::*;       // client, assert_valid, raw sockets, fakes
//! ```
//!
//! # Layout
//!
//! - `client.rs` — [`client`], the proxy-free reqwest client.
//! - `fake.rs` — [`FakeServer`]: records every request ([`Seen`]), scripted
//!   answers per route key, held answers, waiting for calls.
//! - `fake_cp.rs` — [`FakeCp`], a fake CP on [`FakeServer`].
//! - `fake_tenant.rs` — [`FakeTenant`], a fake tenant on [`FakeServer`].
//! - `net.rs` — [`dead_base`], a URL where nothing listens.
//! - `raw.rs` — raw sockets: [`raw()`], [`read_until_close`], [`status_of`],
//!   [`body_of`], [`RawConn`] (keep-alive HTTP/1.1 over one connection).
//! - `schema.rs` — [`assert_valid`] against the contract's JSON schemas.
//! - `fs.rs` — [`mode`] and [`files_in`].
//! - `stub.rs` — [`stub`]: starting cp-stub, its admin API, logs.
//! - `tenant.rs` — [`tenant`]: tenant-double configs and its API.
//! - `stack.rs` — [`stack`]: cp-stub and two tenant-doubles for seed.

#![warn(missing_docs)]

mod client;
mod fake;
mod fake_cp;
mod fake_tenant;
mod fs;
mod net;
mod raw;
mod schema;
pub mod stack;
pub mod stub;
pub mod tenant;

pub use client::client;
pub use fake::{FakeServer, Seen};
pub use fake_cp::FakeCp;
pub use fake_tenant::FakeTenant;
pub use fs::{files_in, mode};
pub use net::dead_base;
pub use raw::{body_of, raw, read_until_close, status_of, RawConn};
pub use schema::assert_valid;
