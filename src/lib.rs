//! docker-credential-northflank (skeleton; see SPEC).
pub mod secret;
pub mod verify;
