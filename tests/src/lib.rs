//! Workspace-level test support: building the workspace once and running
//! the real `chatferry` binary with an isolated environment, and the fixture
//! generator that writes realistic stores (see `fixtures`).

pub mod fixtures;
pub mod harness;
