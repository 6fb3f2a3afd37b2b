//! docker-credential-northflank (skeleton; see SPEC).
pub mod kube;
pub mod secret;
