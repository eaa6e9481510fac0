//! Shared helpers for the integration tests (see CONTRACTS.md "Shared test support").
#![allow(dead_code)]

pub mod netns;
