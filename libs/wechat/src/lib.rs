//! What WeChat for Android and WeChat for iOS have in common: the type
//! codes, the text and XML bodies of messages (read into the canonical
//! model and written back in WeChat's closest native form), and media
//! lookups inside an account folder. The two adapters differ in where rows
//! and files live, not in what a message says.

pub mod codes;
pub mod media;
pub mod read;
pub mod write;
pub mod xml;
